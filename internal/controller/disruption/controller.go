package disruption

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/reconcile"
)

const (
	// deletionTimeout is how long after an eviction a pod in status.disruptedPods is
	// expected to be marked for deletion; after it the entry is dropped.
	deletionTimeout = 2 * time.Minute
	// staleDisruptionTimeout is how long a pod may keep a True DisruptionTarget
	// condition without being deleted before the condition is set back to False.
	staleDisruptionTimeout = 2 * time.Minute

	workers = 2
)

// Controller is the PodDisruptionBudget controller.
type Controller struct {
	client      kubernetes.Interface
	budgets     policylisters.PodDisruptionBudgetLister
	pods        corelisters.PodLister
	rcs         corelisters.ReplicationControllerLister
	rss         appslisters.ReplicaSetLister
	deploys     appslisters.DeploymentLister
	sets        appslisters.StatefulSetLister
	scales      scaleReader
	loop        *reconcile.Loop // budget keys
	stale       *reconcile.Loop // pod keys with a DisruptionTarget condition to check
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the PodDisruptionBudget controller. It uses factory's pod,
// PodDisruptionBudget, ReplicationController, ReplicaSet, Deployment and StatefulSet
// informers, which the caller must start; Run must be called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, clock: clock.RealClock{}, log: log.With("controller", "disruption")}
	c.scales = discoveryScales(client)
	c.loop = reconcile.New("disruption", c.sync, log)
	c.stale = reconcile.New("disruption-stale-pods", c.syncPod, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "controllermanager"})

	pdbInf, podInf := factory.Policy().V1().PodDisruptionBudgets(), factory.Core().V1().Pods()
	c.budgets, c.pods = pdbInf.Lister(), podInf.Lister()
	c.rcs = factory.Core().V1().ReplicationControllers().Lister()
	c.rss = factory.Apps().V1().ReplicaSets().Lister()
	c.deploys = factory.Apps().V1().Deployments().Lister()
	c.sets = factory.Apps().V1().StatefulSets().Lister()
	if _, err := pdbInf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.MetaNamespaceKeyFunc(obj)
		return key
	})); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(nil, obj) },
		UpdateFunc: c.podChanged,
		DeleteFunc: func(obj any) { c.podChanged(nil, obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs PodDisruptionBudgets until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	go c.stale.Run(ctx, 1)
	c.loop.Run(ctx, workers)
}

// podChanged queues the budget of a pod that was added, changed (old is set) or
// deleted, and the pod itself when its DisruptionTarget condition may go stale.
func (c *Controller) podChanged(oldObj, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pdb := c.budgetOf(pod); pdb != nil {
		c.loop.Add(pdb.Namespace + "/" + pdb.Name)
	}
	if old, ok := oldObj.(*corev1.Pod); ok && !equalLabels(old.Labels, pod.Labels) {
		if pdb := c.budgetOf(old); pdb != nil {
			c.loop.Add(pdb.Namespace + "/" + pdb.Name)
		}
	}
	if wait, stale := c.staleAfter(pod); stale {
		c.stale.AddAfter(pod.Namespace+"/"+pod.Name, wait)
	}
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// budgetOf returns the budget that covers pod, or nil; a pod that several budgets
// select gets the first and a MultiplePodDisruptionBudgets event.
func (c *Controller) budgetOf(pod *corev1.Pod) *policyv1.PodDisruptionBudget {
	pdbs, err := c.budgets.GetPodPodDisruptionBudgets(pod)
	if err != nil || len(pdbs) == 0 {
		return nil
	}
	if len(pdbs) > 1 {
		msg := fmt.Sprintf("Pod %q/%q matches multiple PodDisruptionBudgets.  Chose %q arbitrarily.", pod.Namespace, pod.Name, pdbs[0].Name)
		c.recorder.Event(pod, corev1.EventTypeWarning, "MultiplePodDisruptionBudgets", msg)
	}
	return pdbs[0]
}

// sync computes one budget's status and writes it when it changed. It returns the
// time until the first entry of status.disruptedPods expires.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	pdb, err := c.budgets.PodDisruptionBudgets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	recheck, err := c.trySync(ctx, pdb)
	switch {
	case err == nil:
		return recheck, nil
	case apierrors.IsConflict(err):
		return 0, err
	}
	c.log.Warn("sync failed", "poddisruptionbudget", key, "err", err)
	return 0, c.failSafe(ctx, pdb, err)
}

// trySync computes and writes one budget's status.
func (c *Controller) trySync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (time.Duration, error) {
	pods, err := c.podsOf(pdb)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return 0, err
	}
	if len(pods) == 0 {
		c.recorder.Eventf(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := c.expectedPods(ctx, pdb, pods)
	if err != nil {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return 0, err
	}
	if len(unmanaged) > 0 {
		c.recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", pdb.Spec.Selector)
	}
	now := c.clock.Now()
	disrupted, expired, recheck := disruptedPods(pdb, pods, now)
	for _, pod := range expired {
		c.recorder.Eventf(pod, corev1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
	}
	status := newStatus(pdb, expected, desired, healthyPods(pods, disrupted, now), disrupted, now)
	if err := c.writeStatus(ctx, pdb, status); err != nil {
		return 0, err
	}
	return recheck, nil
}

// failSafe leaves a budget whose status cannot be computed allowing no disruptions,
// with the DisruptionAllowed condition False for SyncFailed. Its error, if any, is
// what the sync returns.
func (c *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	status := *pdb.Status.DeepCopy()
	status.DisruptionsAllowed = 0
	if status.Conditions == nil {
		status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.SyncFailedReason,
		Message:            cause.Error(),
		ObservedGeneration: status.ObservedGeneration,
		LastTransitionTime: metav1.NewTime(c.clock.Now()),
	})
	return c.writeStatus(ctx, pdb, status)
}

// writeStatus writes status unless the budget already has it. A conflict is returned
// as is, for the sync to be retried.
func (c *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, status policyv1.PodDisruptionBudgetStatus) error {
	if statusEqual(&pdb.Status, &status) {
		return nil
	}
	next := pdb.DeepCopy()
	next.Status = status
	_, err := c.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return err
}

// syncPod sets a pod's stale DisruptionTarget condition back to False, or returns how
// long until it is stale.
func (c *Controller) syncPod(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	pod, err := c.pods.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	wait, stale := c.staleAfter(pod)
	if !stale {
		return 0, nil
	}
	if wait > 0 {
		return wait, nil
	}
	next := pod.DeepCopy()
	for i := range next.Status.Conditions {
		cond := &next.Status.Conditions[i]
		if cond.Type == corev1.DisruptionTarget {
			*cond = corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse,
				LastTransitionTime: metav1.NewTime(c.clock.Now()), ObservedGeneration: cond.ObservedGeneration}
			break
		}
	}
	_, err = c.client.CoreV1().Pods(namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err == nil {
		c.log.Info("reset stale DisruptionTarget condition", "pod", key)
	}
	return 0, err
}

// staleAfter reports whether pod has a DisruptionTarget condition that goes stale
// unless the pod is deleted, and how long until it does. Conditions set by the kubelet
// and those of pods being deleted or ended never go stale.
func (c *Controller) staleAfter(pod *corev1.Pod) (time.Duration, bool) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0, false
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type != corev1.DisruptionTarget {
			continue
		}
		if cond.Status != corev1.ConditionTrue || cond.Reason == corev1.PodReasonTerminationByKubelet {
			return 0, false
		}
		return max(staleDisruptionTimeout-c.clock.Since(cond.LastTransitionTime.Time), 0), true
	}
	return 0, false
}
