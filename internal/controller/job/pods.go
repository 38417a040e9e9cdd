package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/podium/podium/internal/controller/podclaim"
)

// burst bounds the pods created or deleted in one sync, as upstream's.
const burst = 500

// claim returns job's pods, whatever their phase: those whose controller reference
// names it and that its selector picks. It adopts orphans the selector picks (adding
// the tracking finalizer) and releases owned pods it no longer picks, unless job is
// being deleted; the orphan worker then removes a released pod's tracking finalizer.
func (c *Controller) claim(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("job %s: selector: %w", keyOf(job), err)
	}
	all, err := c.pods.Pods(job.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	claimer := &podclaim.Claimer{Client: c.client, Owner: job, OwnerKind: jobKind, Selector: selector,
		Finalizers: []string{batchv1.JobTrackingFinalizer},
		Live: func(ctx context.Context) (metav1.Object, error) {
			return c.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		}}
	return claimer.Pods(ctx, all)
}

func controllerRef(job *batchv1.Job) metav1.OwnerReference {
	return *metav1.NewControllerRef(job, jobKind)
}

// podTemplate is the template job's new pods start from: the Job's, with the tracking
// finalizer and, for Indexed Jobs, the index variable in every container.
func podTemplate(job *batchv1.Job) *corev1.PodTemplateSpec {
	t := job.Spec.Template.DeepCopy()
	if isIndexed(job) {
		for _, list := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
			for i := range list {
				addIndexEnv(&list[i])
			}
		}
	}
	if !slices.Contains(t.Finalizers, batchv1.JobTrackingFinalizer) {
		t.Finalizers = append(t.Finalizers, batchv1.JobTrackingFinalizer)
	}
	return t
}

func addIndexEnv(ctr *corev1.Container) {
	for _, e := range ctr.Env {
		if e.Name == indexEnv {
			return
		}
	}
	ctr.Env = append(ctr.Env, corev1.EnvVar{Name: indexEnv, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation)},
	}})
}

// newPod is a pod of job from t; ix is its completion index or noIndex. replaced is
// the failed pod of the index whose failure counts it carries on (per-index back-off).
func newPod(job *batchv1.Job, t *corev1.PodTemplateSpec, ix int, replaced *corev1.Pod) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    job.Name + "-",
			Namespace:       job.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      append([]string(nil), t.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{controllerRef(job)},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	if ix == noIndex {
		return pod
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	index := strconv.Itoa(ix)
	pod.Annotations[batchv1.JobCompletionIndexAnnotation] = index
	pod.Labels[batchv1.JobCompletionIndexAnnotation] = index
	pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, ix)
	pod.GenerateName = indexGenerateName(job.Name, ix)
	if perIndexBackoff(job) {
		var failures, ignored int32
		if replaced != nil {
			failures, ignored = indexFailures(replaced), annotationCount(replaced, batchv1.JobIndexIgnoredFailureCountAnnotation)
			if matchFailurePolicy(job.Spec.PodFailurePolicy, replaced).count {
				failures++
			} else {
				ignored++
			}
		}
		pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(failures))
		if ignored > 0 {
			pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
		}
	}
	return pod
}

// createPod creates pod for job and records the event.
func (c *Controller) createPod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	out, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return errNamespaceTerminating
		}
		c.recorder.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return err
	}
	c.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", out.Name)
	return nil
}

// errNamespaceTerminating is a creation refused because the namespace is going away:
// not worth an event or a retry.
var errNamespaceTerminating = errors.New("namespace is terminating")

// slowStart calls create(0), ..., create(count-1) in batches of 1, 2, 4, ... run in
// parallel, and stops after a batch in which one failed. It returns how many
// succeeded. Refusals because the namespace is terminating are neither successes nor
// failures.
func slowStart(count int, create func(i int) error) (int, error) {
	done, next := 0, 0
	for batch := 1; next < count; batch *= 2 {
		batch = min(batch, count-next)
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for i := range batch {
			wg.Go(func() { errs[i] = create(next + i) })
		}
		wg.Wait()
		next += batch
		failed := 0
		for i, err := range errs {
			switch {
			case err == nil:
				done++
			case errors.Is(err, errNamespaceTerminating):
				errs[i] = nil
			default:
				failed++
			}
		}
		if failed > 0 {
			return done, errors.Join(errs...)
		}
	}
	return done, nil
}

// deletePod deletes p of job and records the event; a pod already gone is not an
// error.
func (c *Controller) deletePod(ctx context.Context, job *batchv1.Job, p *corev1.Pod) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		c.recorder.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("deleting pod %s: %w", p.Name, err)
	}
	c.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	return nil
}

// deleteActive deletes the active pods of a Job that reached its end, keeping their
// finalizers: the tracking step counts them and then removes the finalizers. It
// returns how many ready pods and how many pods it deleted.
func (c *Controller) deleteActive(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (int32, int32, error) {
	var ready, deleted atomic.Int32
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			if err := c.deletePod(ctx, job, p); err != nil && !apierrors.IsNotFound(err) {
				errs[i] = err
				return
			}
			deleted.Add(1)
			if podutils.IsPodReady(p) {
				ready.Add(1)
			}
		})
	}
	wg.Wait()
	return ready.Load(), deleted.Load(), errors.Join(errs...)
}

// deleteSurplus removes the tracking finalizer from pods (they are not counted: a
// suspended or scaled-down Job does not fail them) and deletes them, under deletion
// expectations for key. It returns how many ready pods and how many pods it deleted.
func (c *Controller) deleteSurplus(ctx context.Context, key string, job *batchv1.Job, pods []*corev1.Pod) (int32, int32, error) {
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	c.exp.ExpectDeletes(key, uids)
	var ready, deleted atomic.Int32
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			fail := func(err error) {
				c.exp.Deleted(key, p.UID) // no deletion of ours to wait for
				if !apierrors.IsNotFound(err) {
					errs[i] = err
				}
			}
			if hasTrackingFinalizer(p) {
				if err := c.removeFinalizer(ctx, p); err != nil {
					fail(fmt.Errorf("removing tracking finalizer of pod %s: %w", p.Name, err))
					return
				}
			}
			if err := c.deletePod(ctx, job, p); err != nil {
				fail(err)
				if !apierrors.IsNotFound(err) {
					return
				}
			}
			deleted.Add(1)
			if podutils.IsPodReady(p) {
				ready.Add(1)
			}
		})
	}
	wg.Wait()
	return ready.Load(), deleted.Load(), errors.Join(errs...)
}

// forRemoval returns at least n of a Job's active pods to delete; an Indexed Job's
// pods without a valid index and second pods of an index come first.
func forRemoval(job *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm, rest []*corev1.Pod
	if isIndexed(job) {
		rm, rest = surplusIndexed(job, active)
	} else {
		rest = append(rest, active...)
	}
	if len(rm) < n {
		sortForRemoval(rest)
		rm = append(rm, rest[:min(n-len(rm), len(rest))]...)
	}
	return rm
}

// sortForRemoval orders pods from the first to delete to the last, as upstream's:
// unscheduled before scheduled, pending before unknown before running, not ready
// before ready, ready more recently before longer, more restarts before fewer,
// newer before older.
func sortForRemoval(pods []*corev1.Pod) {
	phaseRank := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			return a.Spec.NodeName == ""
		}
		if ra, rb := phaseRank[a.Status.Phase], phaseRank[b.Status.Phase]; ra != rb {
			return ra < rb
		}
		if podutils.IsPodReady(a) != podutils.IsPodReady(b) {
			return !podutils.IsPodReady(a)
		}
		if podutils.IsPodReady(a) {
			if ta, tb := readySince(a).Time, readySince(b).Time; !ta.Equal(tb) {
				return ta.After(tb)
			}
		}
		if ra, rb := restarts(a), restarts(b); ra != rb {
			return ra > rb
		}
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	})
}

func readySince(p *corev1.Pod) metav1.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime
		}
	}
	return metav1.Time{}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n = max(n, cs.RestartCount)
	}
	return n
}
