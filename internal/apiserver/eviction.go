package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/podium/podium/internal/storage"
)

const (
	// maxDisruptedPods bounds a budget's status.disruptedPods: beyond it the disruption
	// controller has not caught up with the evictions granted, and no more are.
	maxDisruptedPods = 2000
	// evictionAttempts bounds how often an eviction that lost a race with a write of
	// the pod starts over.
	evictionAttempts = 5
)

var pdbGVR = policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")

// evict serves POST pods/NAME/eviction as upstream does: a delete of the pod, with the
// eviction's delete options, that respects the pod's PodDisruptionBudget. A pod that
// is pending, has ended or is already being deleted goes without a look at budgets.
// Otherwise a budget that allows a disruption gives one up (status.disruptionsAllowed
// decremented, the pod recorded in status.disruptedPods) before the pod is deleted;
// one that allows none refuses with 429. A pod that is not ready may go without taking
// from its budget when the budget's unhealthyPodEvictionPolicy allows it. The pod gets
// the DisruptionTarget condition before it is deleted. A dry run changes nothing.
func (s *Server) evict(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	if _, err := parseWriteOptions(r); err != nil {
		fail(err)
		return
	}
	ev := &policyv1.Eviction{}
	if err := s.decodeInto(r, ev); err != nil {
		fail(err)
		return
	}
	if ev.Name != "" && ev.Name != ri.Name {
		fail(apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	if ev.Namespace != "" && ev.Namespace != ri.Namespace {
		fail(apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	opts, err := evictionDeleteOptions(ev.DeleteOptions, r.URL.Query()["dryRun"])
	if err != nil {
		fail(err)
		return
	}
	if errs := metav1validation.ValidateDeleteOptions(opts); len(errs) > 0 {
		fail(apierrors.NewInvalid(schema.GroupKind{Group: policyv1.GroupName, Kind: "Eviction"}, ri.Name, errs))
		return
	}
	if err := s.evictPod(r.Context(), res, ri.Namespace, ri.Name, opts); err != nil {
		fail(err)
		return
	}
	s.writeStatusSuccess(w, r, http.StatusCreated)
}

// evictionDeleteOptions returns the delete options of an eviction with the request's
// dryRun folded in; the two may not disagree.
func evictionDeleteOptions(opts *metav1.DeleteOptions, queryDryRun []string) (*metav1.DeleteOptions, error) {
	switch {
	case opts == nil:
		return &metav1.DeleteOptions{DryRun: queryDryRun}, nil
	case len(opts.DryRun) == 0:
		out := opts.DeepCopy()
		out.DryRun = queryDryRun
		return out, nil
	case len(queryDryRun) == 0 || slices.Equal(opts.DryRun, queryDryRun):
		return opts, nil
	}
	return nil, statusFailure(http.StatusInternalServerError, metav1.StatusReasonUnknown,
		fmt.Sprintf("Non-matching dry-run options in request and content: %v and %v", queryDryRun, opts.DryRun))
}

// evictPod evicts one pod; res is the pods resource.
func (s *Server) evictPod(ctx context.Context, res *resource, namespace, name string, opts *metav1.DeleteOptions) error {
	callerRV := opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil
	var pod *corev1.Pod
	for attempt := 1; ; attempt++ {
		var err error
		if pod, err = s.getPod(ctx, res, namespace, name); err != nil {
			return err
		}
		if !budgetsIgnored(pod) {
			break
		}
		delOpts := opts
		if !callerRV && pod.Status.Phase == corev1.PodPending && pod.DeletionTimestamp == nil {
			// A pending pod may become ready meanwhile, and then budgets apply.
			delOpts = withResourceVersion(opts, pod.ResourceVersion)
		}
		err = s.markAndDelete(ctx, res, namespace, name, delOpts)
		if err == nil || !apierrors.IsConflict(err) || callerRV || attempt == evictionAttempts {
			return err
		}
	}

	pdbRes := s.builtin.resources[pdbGVR]
	var budgets []*policyv1.PodDisruptionBudget
	if pdbRes != nil {
		var err error
		if budgets, err = s.budgetsOf(ctx, pdbRes, pod); err != nil {
			return err
		}
	}
	switch {
	case len(budgets) > 1:
		return statusFailure(http.StatusInternalServerError, "", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
	case len(budgets) == 0:
		return s.markAndDelete(ctx, res, namespace, name, opts)
	}
	pdb := budgets[0]
	if !podutils.IsPodReady(pod) && unhealthyMayGo(pdb) {
		// The pod counts for nothing in the budget, so it goes without taking from it,
		// provided it has not become ready since it was read.
		err := s.markAndDelete(ctx, res, namespace, name, withResourceVersion(opts, pod.ResourceVersion))
		if apierrors.IsConflict(err) && !callerRV {
			return budgetBusy(pdb.Name)
		}
		return err
	}
	if err := s.takeDisruption(ctx, pdbRes, pdb, pod.Name, len(opts.DryRun) > 0); err != nil {
		return err
	}
	return s.markAndDelete(ctx, res, namespace, name, opts)
}

// budgetsIgnored reports whether a pod is evicted without a look at its budgets: it is
// pending, has ended, or is already being deleted.
func budgetsIgnored(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodPending, corev1.PodSucceeded, corev1.PodFailed:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// unhealthyMayGo reports whether a pod that is not ready may be evicted without taking
// from pdb: always under AlwaysAllow, and under IfHealthyBudget (the default) while the
// budget has the healthy pods it wants.
func unhealthyMayGo(pdb *policyv1.PodDisruptionBudget) bool {
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
		return true
	}
	return pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy
}

// getPod reads a pod as stored.
func (s *Server) getPod(ctx context.Context, res *resource, namespace, name string) (*corev1.Pod, error) {
	obj := res.newStored()
	if err := s.cfg.Store.Get(ctx, res.key(namespace, name), obj); err != nil {
		return nil, err
	}
	ext, err := res.toExternal(obj)
	if err != nil {
		return nil, err
	}
	pod, ok := ext.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("pods are served as %T", ext)
	}
	return pod, nil
}

// budgetsOf returns the PodDisruptionBudgets in the pod's namespace whose selector picks
// it. An empty selector picks every pod; one that does not parse picks none.
func (s *Server) budgetsOf(ctx context.Context, pdbRes *resource, pod *corev1.Pod) ([]*policyv1.PodDisruptionBudget, error) {
	list, err := s.cfg.Store.List(ctx, pdbRes.prefix(pod.Namespace), storage.ListOptions{}, pdbRes.newStored)
	if err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, obj := range list.Items {
		ext, err := pdbRes.toExternal(obj)
		if err != nil {
			return nil, err
		}
		pdb, ok := ext.(*policyv1.PodDisruptionBudget)
		if !ok || pdb.Namespace != pod.Namespace {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// takeDisruption takes one disruption from the budget for podName in one conditional
// write of its status, through the status update rules, checked against the budget as
// stored at the time of the write (a write that loses a race is checked again). A dry
// run writes nothing.
func (s *Server) takeDisruption(ctx context.Context, pdbRes *resource, pdb *policyv1.PodDisruptionBudget, podName string, dryRun bool) error {
	ri := requestInfo{Group: pdbGVR.Group, Version: pdbGVR.Version, Resource: pdbGVR.Resource,
		Namespace: pdb.Namespace, Name: pdb.Name, Subresource: "status", Verb: "update"}
	_, err := s.updateWith(ctx, pdbRes, ri, writeOptions{dryRun: dryRun}, func(cur runtime.Object) (runtime.Object, error) {
		cp, ok := cur.(*policyv1.PodDisruptionBudget)
		if !ok {
			return nil, fmt.Errorf("poddisruptionbudgets are served as %T", cur)
		}
		if err := checkBudget(cp); err != nil {
			return nil, err
		}
		cp.Status.DisruptionsAllowed--
		if cp.Status.DisruptionsAllowed == 0 {
			apimeta.SetStatusCondition(&cp.Status.Conditions, metav1.Condition{
				Type:               policyv1.DisruptionAllowedCondition,
				Status:             metav1.ConditionFalse,
				Reason:             policyv1.InsufficientPodsReason,
				ObservedGeneration: cp.Status.ObservedGeneration,
				LastTransitionTime: metav1.NewTime(s.clock.Now()),
			})
		}
		if cp.Status.DisruptedPods == nil {
			cp.Status.DisruptedPods = map[string]metav1.Time{}
		}
		cp.Status.DisruptedPods[podName] = metav1.NewTime(s.clock.Now())
		return cp, nil
	})
	return err
}

// checkBudget returns the error an eviction gets from a budget that cannot give up a
// disruption now, or nil.
func checkBudget(pdb *policyv1.PodDisruptionBudget) error {
	gr := schema.GroupResource{Group: policyv1.GroupName, Resource: "poddisruptionbudget"}
	switch {
	case pdb.Status.ObservedGeneration < pdb.Generation:
		return budgetBusy(pdb.Name)
	case pdb.Status.DisruptionsAllowed < 0:
		return apierrors.NewForbidden(gr, pdb.Name, fmt.Errorf("pdb disruptions allowed is negative"))
	case len(pdb.Status.DisruptedPods) > maxDisruptedPods:
		return apierrors.NewForbidden(gr, pdb.Name, fmt.Errorf("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
	case pdb.Status.DisruptionsAllowed == 0:
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    policyv1.DisruptionBudgetCause,
			Message: fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy),
		})
		return err
	}
	return nil
}

// budgetBusy is the 429 of an eviction whose budget the controller has not caught up
// with.
func budgetBusy(name string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
		Type:    policyv1.DisruptionBudgetCause,
		Message: fmt.Sprintf("The disruption budget %s is still being processed by the server.", name),
	})
	return err
}

// markAndDelete gives the pod the DisruptionTarget condition, unless opts is a dry run,
// then deletes it with opts. The condition is written through the pod status rules and
// checked against opts' preconditions; a resourceVersion precondition then moves to
// the version that write made.
func (s *Server) markAndDelete(ctx context.Context, res *resource, namespace, name string, opts *metav1.DeleteOptions) error {
	if len(opts.DryRun) == 0 {
		ri := requestInfo{Version: "v1", Resource: "pods", Namespace: namespace, Name: name, Subresource: "status", Verb: "update"}
		out, err := s.updateWith(ctx, res, ri, writeOptions{}, func(cur runtime.Object) (runtime.Object, error) {
			pod, ok := cur.(*corev1.Pod)
			if !ok {
				return nil, fmt.Errorf("pods are served as %T", cur)
			}
			if err := checkPodPreconditions(pod, opts.Preconditions); err != nil {
				return nil, err
			}
			setPodCondition(&pod.Status, corev1.PodCondition{
				Type:               corev1.DisruptionTarget,
				Status:             corev1.ConditionTrue,
				Reason:             "EvictionByEvictionAPI",
				Message:            "Eviction API: evicting",
				ObservedGeneration: pod.Generation,
			}, metav1.NewTime(s.clock.Now()))
			return pod, nil
		})
		if err != nil {
			return err
		}
		if opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil {
			m, err := apimeta.Accessor(out)
			if err != nil {
				return err
			}
			opts = withResourceVersion(opts, m.GetResourceVersion())
		}
	}
	_, err := s.deleteOne(ctx, res, namespace, name, opts)
	return err
}

// checkPodPreconditions checks a delete's preconditions against the pod as stored.
func checkPodPreconditions(pod *corev1.Pod, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	gr := schema.GroupResource{Resource: "Pod"}
	if p.UID != nil && *p.UID != "" && *p.UID != pod.UID {
		return apierrors.NewConflict(gr, pod.Name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *p.UID, pod.UID))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != "" && *p.ResourceVersion != pod.ResourceVersion {
		return apierrors.NewConflict(gr, pod.Name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *p.ResourceVersion, pod.ResourceVersion))
	}
	return nil
}

// setPodCondition replaces the condition of c's type, or appends c. Its transition time
// is now when its status changes, else the old one.
func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition, now metav1.Time) {
	c.LastTransitionTime = now
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		c.LastProbeTime = old.LastProbeTime
		*old = c
		return
	}
	status.Conditions = append(status.Conditions, c)
}

// withResourceVersion returns opts with a resourceVersion precondition of rv.
func withResourceVersion(opts *metav1.DeleteOptions, rv string) *metav1.DeleteOptions {
	out := opts.DeepCopy()
	if out.Preconditions == nil {
		out.Preconditions = &metav1.Preconditions{}
	}
	out.Preconditions.ResourceVersion = &rv
	return out
}

// statusFailure is an API error with exactly this code, reason and message.
func statusFailure(code int32, reason metav1.StatusReason, message string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason, Message: message}}
}
