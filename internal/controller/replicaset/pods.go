package replicaset

import (
	"context"
	"errors"
	"maps"
	"sort"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubectl/pkg/util/podutils"
)

// burstReplicas bounds the pods created or deleted in one sync, as upstream's.
const burstReplicas = 500

// deletionCostAnnotation ranks pods for deletion: lower costs go first.
const deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// manage creates or deletes pods so that rs has spec.replicas of them.
func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, owned []*corev1.Pod) error {
	diff := len(owned) - int(*rs.Spec.Replicas)
	switch {
	case diff < 0:
		n := min(-diff, burstReplicas)
		c.exp.ExpectCreates(key, n)
		done, err := slowStart(n, func() error { return c.createPod(ctx, rs) })
		for range n - done {
			c.exp.Created(key) // not created: nothing to wait for
		}
		return err
	case diff > 0:
		victims := podsToDelete(owned, min(diff, burstReplicas))
		uids := make([]types.UID, len(victims))
		for i, p := range victims {
			uids[i] = p.UID
		}
		c.exp.ExpectDeletes(key, uids)
		var wg sync.WaitGroup
		errs := make([]error, len(victims))
		for i, p := range victims {
			wg.Go(func() {
				var deleted bool
				if deleted, errs[i] = c.deletePod(ctx, rs, p); !deleted {
					c.exp.Deleted(key, p.UID) // no deletion of ours to wait for
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// slowStart calls create count times, in batches of 1, 2, 4, ... run in parallel, and
// stops after a batch in which one failed. It returns how many succeeded.
func slowStart(count int, create func() error) (int, error) {
	done := 0
	for batch := 1; done < count; batch *= 2 {
		batch = min(batch, count-done)
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for i := range batch {
			wg.Go(func() { errs[i] = create() })
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
			}
		}
		done += batch - failed
		if failed > 0 {
			return done, errors.Join(errs...)
		}
	}
	return done, nil
}

// createPod creates one pod from rs's template.
func (c *Controller) createPod(ctx context.Context, rs *appsv1.ReplicaSet) error {
	t := &rs.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      append([]string(nil), t.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, c.src.kind())},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	out, err := c.client.CoreV1().Pods(rs.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(c.src.object(rs), corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		}
		return err
	}
	c.recorder.Eventf(c.src.object(rs), corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", out.Name)
	return nil
}

// deletePod deletes one of rs's pods and reports whether this call deleted it; one
// already gone (or replaced by another of its name) is no error.
func (c *Controller) deletePod(ctx context.Context, rs *appsv1.ReplicaSet, p *corev1.Pod) (bool, error) {
	uid := p.UID
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	if err != nil {
		c.recorder.Eventf(c.src.object(rs), corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return false, err
	}
	c.recorder.Eventf(c.src.object(rs), corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	return true, nil
}

// podsToDelete picks the n pods to delete first, in upstream's order: not yet
// scheduled before scheduled; pending, then unknown, then running; not ready before
// ready; lower deletion cost first; pods sharing a node with more of the set first;
// ready for less time first; more restarts first; newer first.
func podsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	onNode := map[string]int{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			onNode[p.Spec.NodeName]++
		}
	}
	ranked := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(ranked, func(i, j int) bool { return deleteFirst(ranked[i], ranked[j], onNode) })
	return ranked[:min(n, len(ranked))]
}

func deleteFirst(a, b *corev1.Pod, onNode map[string]int) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	phase := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}
	if phase[a.Status.Phase] != phase[b.Status.Phase] {
		return phase[a.Status.Phase] < phase[b.Status.Phase]
	}
	if podutils.IsPodReady(a) != podutils.IsPodReady(b) {
		return !podutils.IsPodReady(a)
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if ra, rb := onNode[a.Spec.NodeName], onNode[b.Spec.NodeName]; ra != rb {
		return ra > rb
	}
	if podutils.IsPodReady(a) && podutils.IsPodReady(b) {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(&tb) {
			return tb.Before(&ta)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return false
}

func deletionCost(p *corev1.Pod) int64 {
	v, err := strconv.ParseInt(p.Annotations[deletionCostAnnotation], 10, 32)
	if err != nil {
		return 0
	}
	return v
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}
