package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/controller/reconcile"
)

// recheck is how soon a namespace whose content is still going away is looked at again.
const recheck = time.Second

// Controller empties and finalizes deleted namespaces.
type Controller struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	discovery discovery.DiscoveryInterface
	loop      *reconcile.Loop
}

// New returns the controller; factory's informers must be started by the caller.
func New(client kubernetes.Interface, dyn dynamic.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, dynamic: dyn, discovery: client.Discovery()}
	c.loop = reconcile.New("namespace", c.sync, log)
	_, err := factory.Core().V1().Namespaces().Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			return ns.Name
		}
		return ""
	}))
	return c, err
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.loop.Run(ctx, 2) }

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if ns.DeletionTimestamp == nil || !hasFinalizer(ns) {
		return 0, nil
	}
	resources, discoveryErr := c.namespacedResources()
	conds := []corev1.NamespaceCondition{
		condition(corev1.NamespaceDeletionDiscoveryFailure, discoveryErr, "DiscoveryFailed", "ResourcesDiscovered", "All resources successfully discovered"),
		condition(corev1.NamespaceDeletionGVParsingFailure, nil, "GroupVersionParsingFailed", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
	}
	var deleteErrs []string
	remaining := map[string]int{}
	withFinalizers := map[string]int{}
	// Pods go first, as upstream's ordered namespace deletion: what they use (their
	// ConfigMaps, Secrets, ServiceAccounts) stays until every pod is gone.
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	sort.SliceStable(resources, func(i, j int) bool { return resources[i] == pods && resources[j] != pods })
	for _, gvr := range resources {
		if gvr != pods && remaining[pods.GroupResource().String()] > 0 {
			break
		}
		ri := c.dynamic.Resource(gvr).Namespace(name)
		if err := ri.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			deleteErrs = append(deleteErrs, fmt.Sprintf("%s: %v", gvr.GroupResource(), err))
			continue
		}
		left, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			deleteErrs = append(deleteErrs, fmt.Sprintf("%s: %v", gvr.GroupResource(), err))
			continue
		}
		if n := len(left.Items); n > 0 {
			remaining[gvr.GroupResource().String()] += n
			for _, item := range left.Items {
				for _, f := range item.GetFinalizers() {
					withFinalizers[f]++
				}
			}
		}
	}
	var deleteErr error
	if len(deleteErrs) > 0 {
		deleteErr = fmt.Errorf("%s", strings.Join(deleteErrs, "; "))
	}
	conds = append(conds,
		condition(corev1.NamespaceDeletionContentFailure, deleteErr, "ContentDeletionFailed", "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
		countCondition(corev1.NamespaceContentRemaining, remaining, "SomeResourcesRemain", "ContentRemoved", "All content successfully removed",
			"Some resources are remaining: ", "%s has %d resource instances"),
		countCondition(corev1.NamespaceFinalizersRemaining, withFinalizers, "SomeFinalizersRemain", "ContentHasNoFinalizers", "All content-preserving finalizers finished",
			"Some content in the namespace has finalizers remaining: ", "%s in %d resource instances"),
	)
	if err := c.setConditions(ctx, ns, conds); err != nil {
		return 0, err
	}
	if discoveryErr != nil || deleteErr != nil || len(remaining) > 0 {
		return recheck, nil
	}
	return 0, c.finalize(ctx, name)
}

// namespacedResources lists the served namespaced resources that can be listed and
// deleted as collections.
func (c *Controller) namespacedResources() ([]schema.GroupVersionResource, error) {
	lists, err := c.discovery.ServerPreferredNamespacedResources()
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !sets.New(r.Verbs...).HasAll("list", "deletecollection") {
				continue
			}
			out = append(out, gv.WithResource(r.Name))
		}
	}
	return out, err
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

func condition(t corev1.NamespaceConditionType, err error, failReason, okReason, okMessage string) corev1.NamespaceCondition {
	if err != nil {
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: failReason, Message: err.Error()}
	}
	return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: okMessage}
}

// countCondition reports what is left, one "NAME has N resource instances" (or, for
// finalizers, "NAME in N resource instances") part each, or the all-clear.
func countCondition(t corev1.NamespaceConditionType, counts map[string]int, someReason, okReason, okMessage, prefix, part string) corev1.NamespaceCondition {
	if len(counts) == 0 {
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: okMessage}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf(part, k, counts[k]))
	}
	return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: someReason, Message: prefix + strings.Join(parts, ", ")}
}

// setConditions writes the conditions through the status subresource when they changed,
// keeping each unchanged condition's transition time.
func (c *Controller) setConditions(ctx context.Context, ns *corev1.Namespace, conds []corev1.NamespaceCondition) error {
	now := metav1.Now()
	next := ns.DeepCopy()
	changed := false
	for _, cond := range conds {
		found := false
		for i := range next.Status.Conditions {
			old := &next.Status.Conditions[i]
			if old.Type != cond.Type {
				continue
			}
			found = true
			if old.Status != cond.Status || old.Reason != cond.Reason || old.Message != cond.Message {
				if old.Status != cond.Status {
					old.LastTransitionTime = now
				}
				old.Status, old.Reason, old.Message = cond.Status, cond.Reason, cond.Message
				changed = true
			}
		}
		if !found {
			cond.LastTransitionTime = now
			next.Status.Conditions = append(next.Status.Conditions, cond)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	_, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or changed under us: the informer brings it back
	}
	return err
}

// finalize removes the kubernetes finalizer through the finalize subresource.
func (c *Controller) finalize(ctx context.Context, name string) error {
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []corev1.FinalizerName
	for _, f := range ns.Spec.Finalizers {
		if f != corev1.FinalizerKubernetes {
			keep = append(keep, f)
		}
	}
	ns.Spec.Finalizers = keep
	_, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
