package daemonset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/podclaim"
	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/controller/templatehash"
	"github.com/podium/podium/internal/scheduler/plugins/tainttoleration"
)

const workers = 2

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Controller is the DaemonSet controller.
type Controller struct {
	client      kubernetes.Interface
	sets        appslisters.DaemonSetLister
	revisions   appslisters.ControllerRevisionLister
	nodes       corelisters.NodeLister
	pods        corelisters.PodLister
	loop        *reconcile.Loop
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the DaemonSet controller; factory's informers must be started by the
// caller, and Run called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, clock: clock.RealClock{}, log: log.With("controller", "daemonset")}
	c.loop = reconcile.New("daemonset", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "daemonset-controller"})
	dsInf, revInf := factory.Apps().V1().DaemonSets(), factory.Apps().V1().ControllerRevisions()
	nodeInf, podInf := factory.Core().V1().Nodes(), factory.Core().V1().Pods()
	c.sets, c.revisions, c.nodes, c.pods = dsInf.Lister(), revInf.Lister(), nodeInf.Lister(), podInf.Lister()
	byKey := func(obj any) string {
		key, _ := cache.MetaNamespaceKeyFunc(obj)
		return key
	}
	if _, err := dsInf.Informer().AddEventHandler(c.loop.Handler(byKey)); err != nil {
		return nil, err
	}
	// A pod or a node changes what its DaemonSets must do.
	if _, err := podInf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return ""
		}
		if ref := metav1.GetControllerOf(pod); ref != nil {
			if ref.Kind == controllerKind.Kind {
				return pod.Namespace + "/" + ref.Name
			}
			return ""
		}
		c.selecting(pod) // an orphan some DaemonSet may adopt
		return ""
	})); err != nil {
		return nil, err
	}
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.all() },
		UpdateFunc: func(old, cur any) { c.nodeChanged(old.(*corev1.Node), cur.(*corev1.Node)) },
		DeleteFunc: func(any) { c.all() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs DaemonSets until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	c.loop.Run(ctx, workers)
}

// selecting queues the DaemonSets of pod's namespace whose selector picks it.
func (c *Controller) selecting(pod *corev1.Pod) {
	sets, _ := c.sets.DaemonSets(pod.Namespace).List(labels.Everything())
	for _, ds := range sets {
		if sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			c.loop.Add(ds.Namespace + "/" + ds.Name)
		}
	}
}

func (c *Controller) all() {
	sets, _ := c.sets.List(labels.Everything())
	for _, ds := range sets {
		c.loop.Add(ds.Namespace + "/" + ds.Name)
	}
}

// nodeChanged looks at every DaemonSet when a node's labels, taints or readiness
// change; heartbeats alone change nothing.
func (c *Controller) nodeChanged(old, cur *corev1.Node) {
	if !equality.Semantic.DeepEqual(old.Labels, cur.Labels) || !equality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) ||
		old.Spec.Unschedulable != cur.Spec.Unschedulable {
		c.all()
	}
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := c.sets.DaemonSets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	ds := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || selector.Empty() {
		return 0, nil
	}
	hash := templatehash.Of(&ds.Spec.Template, ds.Status.CollisionCount)
	if ds.DeletionTimestamp == nil {
		if err := c.syncRevisions(ctx, ds, hash); err != nil {
			return 0, err
		}
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	byNode, err := c.podsByNode(ctx, ds, selector)
	if err != nil {
		return 0, err
	}
	var errs []error
	if ds.DeletionTimestamp == nil {
		errs = append(errs, c.manage(ctx, ds, hash, nodes, byNode))
		if ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
			errs = append(errs, c.rollingUpdate(ctx, ds, hash, nodes, byNode))
		}
	}
	errs = append(errs, c.writeStatus(ctx, ds, hash, nodes, byNode))
	again := time.Duration(0)
	if ds.Spec.MinReadySeconds > 0 {
		again = time.Duration(ds.Spec.MinReadySeconds) * time.Second
	}
	return again, errors.Join(errs...)
}

// podsByNode returns ds's pods (not being deleted) by the node they are on or are
// meant for, once it has adopted the orphans its selector picks and released the pods
// it no longer picks.
func (c *Controller) podsByNode(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector) (map[string][]*corev1.Pod, error) {
	pods, err := c.pods.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	claimer := &podclaim.Claimer{Client: c.client, Owner: ds, OwnerKind: controllerKind, Selector: selector,
		Live: func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
		}}
	owned, err := claimer.Pods(ctx, pods)
	if err != nil {
		return nil, err
	}
	out := map[string][]*corev1.Pod{}
	for _, p := range owned {
		if p.DeletionTimestamp != nil {
			continue
		}
		node := p.Spec.NodeName
		if node == "" {
			node = targetNode(p)
		}
		out[node] = append(out[node], p)
	}
	for _, ps := range out {
		sort.Slice(ps, func(i, j int) bool { return ps[i].CreationTimestamp.Before(&ps[j].CreationTimestamp) })
	}
	return out, nil
}

// targetNode is the node a pod not yet scheduled is meant for, from its node affinity.
func targetNode(p *corev1.Pod) string {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// shouldRun reports whether node should run ds's pod, and whether a pod already there
// may keep running.
func shouldRun(ds *appsv1.DaemonSet, node *corev1.Node) (run, keep bool) {
	pod := newPod(ds, "", "") // the template's own affinity, not the pods' node name
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); err != nil || !ok {
		return false, false
	}
	untolerated := func(effects ...corev1.TaintEffect) bool {
		for _, t := range node.Spec.Taints {
			if !slices.Contains(effects, t.Effect) {
				continue
			}
			if !tainttoleration.Tolerates(pod.Spec.Tolerations, &t) {
				return true
			}
		}
		return false
	}
	if untolerated(corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute) {
		return false, !untolerated(corev1.TaintEffectNoExecute)
	}
	return true, true
}

// newPod is ds's pod for node (its required node affinity replaced by the node's name;
// "" leaves the template's), labelled with the revision hash.
func newPod(ds *appsv1.DaemonSet, node, hash string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	pod := &corev1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
	pod.Namespace = ds.Namespace
	pod.GenerateName = ds.Name + "-"
	if hash != "" {
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
		if g := ds.Annotations["deprecated.daemonset.template.generation"]; g != "" {
			pod.Labels["pod-template-generation"] = g
		}
	}
	yes := true
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: controllerKind.GroupVersion().String(), Kind: controllerKind.Kind,
		Name: ds.Name, UID: ds.UID, Controller: &yes, BlockOwnerDeletion: &yes}}
	addTolerations(&pod.Spec)
	if pod.Spec.Affinity == nil {
		pod.Spec.Affinity = &corev1.Affinity{}
	}
	if pod.Spec.Affinity.NodeAffinity == nil {
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	if node != "" {
		pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}
	}
	return pod
}

// addTolerations adds the tolerations every DaemonSet pod has upstream.
func addTolerations(spec *corev1.PodSpec) {
	add := func(key string, effect corev1.TaintEffect) {
		for _, t := range spec.Tolerations {
			if t.Key == key && t.Effect == effect && t.Operator == corev1.TolerationOpExists {
				return
			}
		}
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
	add(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	if spec.HostNetwork {
		add(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)
	}
}

// manage creates the missing pods, and deletes failed ones, extra ones and those on
// nodes that should no longer run them.
func (c *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, hash string, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) error {
	var create []string
	var del []*corev1.Pod
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
		run, keep := shouldRun(ds, n)
		pods := byNode[n.Name]
		switch {
		case run && len(pods) == 0:
			create = append(create, n.Name)
		case keep:
			var alive []*corev1.Pod
			for _, p := range pods {
				if p.Status.Phase == corev1.PodFailed {
					del = append(del, p)
					continue
				}
				alive = append(alive, p)
			}
			if len(alive) == 0 && run {
				create = append(create, n.Name)
			}
			if len(alive) > 1 {
				// The oldest stays; while a rollout surges, the oldest of the current
				// revision stays beside it.
				keepers := alive[:1]
				if _, surge := budget(ds, 1); surge > 0 && ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
					cur, old := split(alive, hash)
					keepers = nil
					for _, p := range []*corev1.Pod{old, cur} {
						if p != nil {
							keepers = append(keepers, p)
						}
					}
				}
				for _, p := range alive {
					if !slices.Contains(keepers, p) {
						del = append(del, p)
					}
				}
			}
		default:
			del = append(del, pods...)
		}
	}
	for node, pods := range byNode {
		if node != "" && !known[node] {
			del = append(del, pods...) // the node is gone
		}
	}
	var errs []error
	for _, node := range create {
		pod, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, newPod(ds, node, hash), metav1.CreateOptions{})
		if err != nil {
			c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			errs = append(errs, err)
			continue
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
	}
	for _, p := range del {
		errs = append(errs, c.deletePod(ctx, ds, p))
	}
	return errors.Join(errs...)
}

func (c *Controller) deletePod(ctx context.Context, ds *appsv1.DaemonSet, p *corev1.Pod) error {
	uid := p.UID
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return err
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	return nil
}

// budget resolves maxUnavailable and maxSurge (rounded up) against the number of nodes
// that should run ds; both zero would never move, so maxUnavailable is then 1.
func budget(ds *appsv1.DaemonSet, desired int) (unavailable, surge int) {
	unavailable = 1
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.MaxUnavailable != nil {
			unavailable, _ = intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, desired, true)
		}
		if ru.MaxSurge != nil {
			surge, _ = intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, desired, true)
		}
	}
	if unavailable == 0 && surge == 0 {
		unavailable = 1
	}
	return unavailable, surge
}

// split returns the oldest pod of the current revision and the oldest of an older one
// among a node's pods.
func split(pods []*corev1.Pod, hash string) (cur, old *corev1.Pod) {
	for _, p := range pods {
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
			if cur == nil {
				cur = p
			}
		} else if old == nil {
			old = p
		}
	}
	return cur, old
}

// rollingUpdate replaces pods of older revisions. Without surge it deletes them,
// unavailable ones first, while no more than maxUnavailable of the nodes that should
// run ds lack an available pod (manage then makes their replacements). With surge it
// starts a new pod beside an old one on up to maxSurge nodes at a time, and deletes
// the old one once the new one is available.
func (c *Controller) rollingUpdate(ctx context.Context, ds *appsv1.DaemonSet, hash string, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) error {
	var eligible []*corev1.Node
	for _, n := range nodes {
		if run, _ := shouldRun(ds, n); run {
			eligible = append(eligible, n)
		}
	}
	maxUnavailable, maxSurge := budget(ds, len(eligible))
	now := c.clock.Now()
	var errs []error
	if maxSurge > 0 {
		surging := 0
		for _, n := range eligible {
			if cur, old := split(byNode[n.Name], hash); cur != nil && old != nil {
				surging++
			}
		}
		for _, n := range eligible {
			cur, old := split(byNode[n.Name], hash)
			switch {
			case old == nil:
			case cur != nil && available(cur, ds.Spec.MinReadySeconds, now):
				errs = append(errs, c.deletePod(ctx, ds, old))
			case cur != nil:
			case !available(old, ds.Spec.MinReadySeconds, now):
				errs = append(errs, c.deletePod(ctx, ds, old)) // costs no availability
			case surging < maxSurge:
				pod, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, newPod(ds, n.Name, hash), metav1.CreateOptions{})
				if err != nil {
					errs = append(errs, err)
					continue
				}
				c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
				surging++
			}
		}
		return errors.Join(errs...)
	}
	unavailable := 0
	var oldAvailable, oldUnavailable []*corev1.Pod
	for _, n := range eligible {
		pods := byNode[n.Name]
		if len(pods) == 0 {
			unavailable++
			continue
		}
		p := pods[0]
		ok := available(p, ds.Spec.MinReadySeconds, now)
		if !ok {
			unavailable++
		}
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != hash {
			if ok {
				oldAvailable = append(oldAvailable, p)
			} else {
				oldUnavailable = append(oldUnavailable, p)
			}
		}
	}
	for _, p := range oldUnavailable {
		errs = append(errs, c.deletePod(ctx, ds, p))
	}
	for _, p := range oldAvailable {
		if unavailable >= maxUnavailable {
			break
		}
		errs = append(errs, c.deletePod(ctx, ds, p))
		unavailable++
	}
	return errors.Join(errs...)
}

func available(p *corev1.Pod, minReady int32, now time.Time) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return minReady == 0 || !cond.LastTransitionTime.Add(time.Duration(minReady)*time.Second).After(now)
		}
	}
	return false
}

// syncRevisions makes the ControllerRevision of the current template (with the next
// revision number when it is new or comes back) and deletes old ones beyond the
// history limit that no pod uses.
func (c *Controller) syncRevisions(ctx context.Context, ds *appsv1.DaemonSet, hash string) error {
	selector, _ := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	all, err := c.revisions.ControllerRevisions(ds.Namespace).List(selector)
	if err != nil {
		return err
	}
	var owned []*appsv1.ControllerRevision
	var cur *appsv1.ControllerRevision
	var maxRev int64
	for _, r := range all {
		if !metav1.IsControlledBy(r, ds) {
			continue
		}
		owned = append(owned, r)
		if r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
			cur = r
		} else {
			maxRev = max(maxRev, r.Revision)
		}
	}
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": templatePatch(ds)}})
	if err != nil {
		return err
	}
	switch {
	case cur == nil:
		yes := true
		labels := map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash}
		for k, v := range ds.Spec.Template.Labels {
			labels[k] = v
		}
		rev := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: ds.Name + "-" + hash, Namespace: ds.Namespace, Labels: labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: controllerKind.GroupVersion().String(), Kind: controllerKind.Kind,
					Name: ds.Name, UID: ds.UID, Controller: &yes, BlockOwnerDeletion: &yes}}},
			Data:     runtime.RawExtension{Raw: data},
			Revision: maxRev + 1,
		}
		if _, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, rev, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	case cur.Revision <= maxRev:
		updated := cur.DeepCopy()
		updated.Revision = maxRev + 1
		if _, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	var old []*appsv1.ControllerRevision
	for _, r := range owned {
		if r != cur {
			old = append(old, r)
		}
	}
	if len(old) <= limit {
		return nil
	}
	used := map[string]bool{}
	pods, _ := c.pods.Pods(ds.Namespace).List(selector)
	for _, p := range pods {
		used[p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] = true
	}
	sort.Slice(old, func(i, j int) bool { return old[i].Revision < old[j].Revision })
	for _, r := range old[:len(old)-limit] {
		if used[r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			continue
		}
		if err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// templatePatch is the template as upstream stores it in a DaemonSet's revision: the
// whole template, marked to replace what it is applied to.
func templatePatch(ds *appsv1.DaemonSet) map[string]any {
	var t map[string]any
	b, _ := json.Marshal(ds.Spec.Template)
	_ = json.Unmarshal(b, &t)
	t["$patch"] = "replace"
	return t
}

// writeStatus writes ds's status from its pods on the nodes.
func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, hash string, nodes []*corev1.Node, byNode map[string][]*corev1.Pod) error {
	st := ds.Status.DeepCopy()
	st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled = 0, 0, 0
	st.NumberReady, st.NumberAvailable, st.UpdatedNumberScheduled, st.NumberUnavailable = 0, 0, 0, 0
	now := c.clock.Now()
	for _, n := range nodes {
		run, _ := shouldRun(ds, n)
		pods := byNode[n.Name]
		scheduled := false
		for _, p := range pods {
			if p.Spec.NodeName != "" {
				scheduled = true
			}
		}
		if run {
			st.DesiredNumberScheduled++
			if scheduled {
				st.CurrentNumberScheduled++
				p := pods[0]
				if available(p, 0, now) {
					st.NumberReady++
				}
				if available(p, ds.Spec.MinReadySeconds, now) {
					st.NumberAvailable++
				}
				if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
					st.UpdatedNumberScheduled++
				}
			}
		} else if scheduled {
			st.NumberMisscheduled++
		}
	}
	st.NumberUnavailable = max(0, st.DesiredNumberScheduled-st.NumberAvailable)
	st.ObservedGeneration = ds.Generation
	if equality.Semantic.DeepEqual(&ds.Status, st) {
		return nil
	}
	next := ds.DeepCopy()
	next.Status = *st
	_, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("status of daemon set %s: %w", ds.Name, err)
	}
	return nil
}
