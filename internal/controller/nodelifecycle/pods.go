package nodelifecycle

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// podsByNode is the name of the pod informer's index by spec.nodeName.
const podsByNode = "nodelifecycle/spec.nodeName"

func indexByNode(obj any) ([]string, error) {
	if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
		return []string{p.Spec.NodeName}, nil
	}
	return nil, nil
}

// podsOn returns the pods bound to node, from the informer's cache.
func (c *Controller) podsOn(node string) []*corev1.Pod {
	objs, err := c.podIndex.ByIndex(podsByNode, node)
	if err != nil {
		return nil
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok && p.Spec.NodeName == node {
			pods = append(pods, p)
		}
	}
	return pods
}

// markPodsNotReady sets Ready=False on every pod bound to node.
func (c *Controller) markPodsNotReady(ctx context.Context, node string) error {
	var errs []error
	for _, p := range c.podsOn(node) {
		if err := c.markPodNotReady(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// markPodNotReady sets pod's Ready condition to False, as upstream does on a node that is
// not ready: the status changes and the reason and message stay. A pod with no Ready
// condition, or one already False, is left alone.
func (c *Controller) markPodNotReady(ctx context.Context, pod *corev1.Pod) error {
	i := podCondition(pod.Status.Conditions, corev1.PodReady)
	if i < 0 || pod.Status.Conditions[i].Status == corev1.ConditionFalse {
		return nil
	}
	next := pod.DeepCopy()
	next.Status.Conditions[i].Status = corev1.ConditionFalse
	next.Status.Conditions[i].LastTransitionTime = metav1.NewTime(c.cfg.Clock.Now())
	_, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("marking pod %s/%s not ready: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Event(next, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	return nil
}

func podCondition(conds []corev1.PodCondition, typ corev1.PodConditionType) int {
	for i := range conds {
		if conds[i].Type == typ {
			return i
		}
	}
	return -1
}

// syncBoundPod marks a pod just bound to a node not ready when the node is not ready.
func (c *Controller) syncBoundPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	if s := c.readyOf(pod.Spec.NodeName); s == "" || s == corev1.ConditionTrue {
		return nil
	}
	return c.markPodNotReady(ctx, pod)
}
