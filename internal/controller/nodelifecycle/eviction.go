package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Event reasons and the condition of upstream's taint eviction.
const (
	reasonEviction          = "TaintManagerEviction"
	reasonDisruption        = "DeletionByTaintManager"
	messageDisruption       = "Taint manager: deleting due to NoExecute taint"
	evictionComponentSource = "taint-eviction-controller"
)

// evictionTime returns when a pod with tolerations must leave a node with the NoExecute
// taints taints, or ok=false if it may stay for good. Each taint is matched by the first
// toleration that tolerates it; one it does not tolerate means now. A used toleration
// with tolerationSeconds gives a deadline that many seconds after the taint's timeAdded,
// or after since for a taint without one; the earliest deadline wins. A toleration
// without tolerationSeconds sets no deadline.
func evictionTime(tolerations []corev1.Toleration, taints []corev1.Taint, since, now time.Time) (at time.Time, ok bool) {
	for i := range taints {
		t := &taints[i]
		tol := tolerating(tolerations, t)
		if tol == nil {
			return now, true
		}
		if tol.TolerationSeconds == nil {
			continue
		}
		start := since
		if t.TimeAdded != nil {
			start = t.TimeAdded.Time
		}
		d := time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second
		if deadline := start.Add(d); !ok || deadline.Before(at) {
			at, ok = deadline, true
		}
	}
	return at, ok
}

func tolerating(tolerations []corev1.Toleration, t *corev1.Taint) *corev1.Toleration {
	for i := range tolerations {
		// podium's validation admits no Lt or Gt operators.
		if tolerations[i].ToleratesTaint(klog.Background(), t, false) {
			return &tolerations[i]
		}
	}
	return nil
}

func noExecuteTaints(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// eviction is a pod's scheduled deletion.
type eviction struct {
	// since is when the controller first scheduled it, the start of toleration periods
	// of taints without timeAdded.
	since time.Time
	at    time.Time
	// announced tells whether the TaintManagerEviction event of the deletion went out.
	announced bool
}

// syncEviction deletes the pod named by key if a NoExecute taint of its node calls for it
// now, and otherwise returns how long until one does (0: never). A scheduled deletion
// that no longer applies (the taint went, the toleration changed, the pod is gone) is
// cancelled with an event. A pod already being deleted is left alone.
func (c *Controller) syncEviction(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.cancelEviction(key, nil)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if pod.DeletionTimestamp != nil {
		return 0, nil
	}
	var taints []corev1.Taint
	if pod.Spec.NodeName != "" {
		if node, err := c.nodes.Get(pod.Spec.NodeName); err == nil {
			taints = noExecuteTaints(node.Spec.Taints)
		}
	}
	if len(taints) == 0 {
		c.cancelEviction(key, pod)
		return 0, nil
	}
	now := c.cfg.Clock.Now()
	c.evictMu.Lock()
	e, scheduled := c.evictions[key]
	c.evictMu.Unlock()
	if !scheduled {
		e.since = now
	}
	at, ok := evictionTime(pod.Spec.Tolerations, taints, e.since, now)
	if !ok {
		c.cancelEviction(key, pod)
		return 0, nil
	}
	if at.After(now) {
		e.at = at
		c.evictMu.Lock()
		c.evictions[key] = e
		c.evictMu.Unlock()
		return at.Sub(now), nil
	}
	if !e.announced {
		c.evictRecorder.Eventf(pod, corev1.EventTypeNormal, reasonEviction, "Marking for deletion Pod %s", key)
		e.at, e.announced = at, true
		c.evictMu.Lock()
		c.evictions[key] = e
		c.evictMu.Unlock()
	}
	if err := c.evict(ctx, pod); err != nil {
		return 0, err
	}
	c.evictMu.Lock()
	delete(c.evictions, key)
	c.evictMu.Unlock()
	return 0, nil
}

// cancelEviction forgets the scheduled deletion of the pod named by key, with an event
// on pod (nil once it is gone) if it had one.
func (c *Controller) cancelEviction(key string, pod *corev1.Pod) {
	c.evictMu.Lock()
	_, scheduled := c.evictions[key]
	delete(c.evictions, key)
	c.evictMu.Unlock()
	if !scheduled {
		return
	}
	var obj runtime.Object = pod
	if pod == nil {
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		obj = &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name}
	}
	c.evictRecorder.Eventf(obj, corev1.EventTypeNormal, reasonEviction, "Cancelling deletion of Pod %s", key)
}

// evict marks the pod as a disruption target and deletes it gracefully.
func (c *Controller) evict(ctx context.Context, pod *corev1.Pod) error {
	key := pod.Namespace + "/" + pod.Name
	pods := c.client.CoreV1().Pods(pod.Namespace)
	cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("evicting pod %s: %w", key, err)
	}
	if i := podCondition(cur.Status.Conditions, corev1.DisruptionTarget); i < 0 || cur.Status.Conditions[i].Status != corev1.ConditionTrue ||
		cur.Status.Conditions[i].Reason != reasonDisruption {
		cond := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reasonDisruption,
			Message: messageDisruption, LastTransitionTime: metav1.NewTime(c.cfg.Clock.Now())}
		if i < 0 {
			cur.Status.Conditions = append(cur.Status.Conditions, cond)
		} else {
			cur.Status.Conditions[i] = cond
		}
		if _, err := pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("evicting pod %s: %w", key, err)
		}
	}
	if err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("evicting pod %s: %w", key, err)
	}
	return nil
}
