package statefulset

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/podium/podium/internal/controller/podclaim"
)

// podNamePattern splits a member's name into its set's name and its ordinal.
var podNamePattern = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal returns the set name and ordinal a pod's name gives; the ordinal is
// -1 for a name of no set.
func parentAndOrdinal(pod *corev1.Pod) (string, int) {
	m := podNamePattern.FindStringSubmatch(pod.Name)
	if m == nil {
		return "", -1
	}
	i, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(i)
}

func ordinalOf(pod *corev1.Pod) int {
	_, o := parentAndOrdinal(pod)
	return o
}

// isMember reports whether pod's name makes it one of set's pods.
func isMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, o := parentAndOrdinal(pod)
	return o >= 0 && parent == set.Name
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return fmt.Sprintf("%s-%d", set.Name, ordinal)
}

func replicas(set *appsv1.StatefulSet) int32 {
	if set.Spec.Replicas == nil {
		return 1
	}
	return *set.Spec.Replicas
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

// inRange reports whether pod's ordinal is one set keeps at its replica count.
func inRange(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	o, start := ordinalOf(pod), startOrdinal(set)
	return o >= start && o < start+int(replicas(set))
}

func controllerRef(set *appsv1.StatefulSet) metav1.OwnerReference {
	return *metav1.NewControllerRef(set, controllerKind)
}

// newPod is set's pod of ordinal from template, at revision.
func newPod(set *appsv1.StatefulSet, template *corev1.PodTemplateSpec, revision string, ordinal int) *corev1.Pod {
	t := template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            podName(set, ordinal),
			GenerateName:    set.Name + "-",
			Namespace:       set.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{controllerRef(set)},
		},
		Spec: t.Spec,
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetRevisionLabel] = revision
	setIdentity(set, pod)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	setClaimVolumes(set, pod)
	return pod
}

// setIdentity gives pod the name and labels of its ordinal in set.
func setIdentity(set *appsv1.StatefulSet, pod *corev1.Pod) {
	o := ordinalOf(pod)
	pod.Name = podName(set, o)
	pod.Namespace = set.Namespace
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(o)
}

func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, o := parentAndOrdinal(pod)
	return o >= 0 && parent == set.Name && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name &&
		pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(o)
}

// setClaimVolumes makes pod's volumes named after set's claim templates mount the
// pod's claims; its other volumes stay.
func setClaimVolumes(set *appsv1.StatefulSet, pod *corev1.Pod) {
	o := ordinalOf(pod)
	var vols []corev1.Volume
	names := map[string]bool{}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		names[t.Name] = true
		vols = append(vols, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, t, o)}}})
	}
	for _, v := range pod.Spec.Volumes {
		if !names[v.Name] {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

func storageMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	o := ordinalOf(pod)
	if o < 0 {
		return false
	}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		j := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == t.Name })
		if j < 0 {
			return false
		}
		if src := pod.Spec.Volumes[j].PersistentVolumeClaim; src == nil || src.ClaimName != claimName(set, t, o) {
			return false
		}
	}
	return true
}

func revisionOf(pod *corev1.Pod) string { return pod.Labels[appsv1.StatefulSetRevisionLabel] }

func terminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }

func finished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded
}

func runningAndReady(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && podutils.IsPodReady(pod)
}

// available reports whether pod has been running and ready for minReady seconds at now.
func available(pod *corev1.Pod, minReady int32, now time.Time) bool {
	if !runningAndReady(pod) {
		return false
	}
	if minReady == 0 {
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReady)*time.Second).Before(now)
		}
	}
	return false
}

// unavailable reports whether pod is not available or is being deleted.
func unavailable(pod *corev1.Pod, minReady int32, now time.Time) bool {
	return !available(pod, minReady, now) || terminating(pod)
}

// claimer claims set's pods and revisions for one sync: pods its selector picks whose
// names are its members', and revisions its selector picks.
func (c *Controller) claimer(set *appsv1.StatefulSet, selector labels.Selector) *podclaim.Claimer {
	return &podclaim.Claimer{Client: c.client, Owner: set, OwnerKind: controllerKind, Selector: selector,
		Match: func(p *corev1.Pod) bool { return isMember(set, p) },
		Live: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
		}}
}

// podEvent records the outcome of verb ("create", "delete", "update") on one of set's
// pods with upstream's reasons and messages.
func (c *Controller) podEvent(set *appsv1.StatefulSet, verb string, pod *corev1.Pod, err error) {
	if err == nil {
		c.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title(verb), "%s Pod %s in StatefulSet %s successful", verb, pod.Name, set.Name)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title(verb), "%s Pod %s in StatefulSet %s failed error: %s", verb, pod.Name, set.Name, err)
}

func title(verb string) string {
	if verb == "" {
		return ""
	}
	return string(verb[0]-'a'+'A') + verb[1:]
}

// createPod creates pod, a missing member of set, after its claims. It creates nothing
// while a claim still belongs to an earlier pod of the same name, which the garbage
// collector is about to delete.
func (c *Controller) createPod(ctx context.Context, key string, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	if stale, err := c.claimIsStale(ctx, set, pod); err != nil || stale {
		return err
	}
	if err := c.ensureClaims(ctx, set, pod); err != nil {
		c.podEvent(set, "create", pod, err)
		return err
	}
	c.exp.ExpectCreates(key, 1)
	_, err := c.client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		c.exp.Created(key) // nothing to wait for
	}
	if apierrors.IsAlreadyExists(err) {
		return err // the cache is behind; a later sync sees the pod
	}
	c.podEvent(set, "create", pod, err)
	return err
}

// deletePod deletes one of set's pods; one already gone, or replaced by another of its
// name, is no error.
func (c *Controller) deletePod(ctx context.Context, key string, set *appsv1.StatefulSet, pod *corev1.Pod) (bool, error) {
	uid := pod.UID
	c.exp.ExpectDeletes(key, []types.UID{uid})
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil {
		c.exp.Deleted(key, uid)
	}
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	c.podEvent(set, "delete", pod, err)
	return err == nil, err
}

// conformPod restores pod's identity labels and claim volumes, creating missing claims,
// and its claims' owners for the retention policy.
func (c *Controller) conformPod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	pod = pod.DeepCopy()
	attempted := false
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		consistent := true
		if !identityMatches(set, pod) {
			setIdentity(set, pod)
			consistent = false
		}
		if !storageMatches(set, pod) {
			setClaimVolumes(set, pod)
			consistent = false
			if err := c.ensureClaims(ctx, set, pod); err != nil {
				return err
			}
		}
		if err := c.syncClaimOwners(ctx, set, pod); err != nil {
			return err
		}
		if consistent {
			return nil
		}
		attempted = true
		_, err := c.client.CoreV1().Pods(set.Namespace).Update(ctx, pod, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if fresh, getErr := c.pods.Pods(set.Namespace).Get(pod.Name); getErr == nil {
				pod = fresh.DeepCopy()
			}
		}
		return err
	})
	if attempted || err != nil {
		c.podEvent(set, "update", pod, err)
	}
	return err
}
