package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many objects are looked at in parallel.
const workers = 4

// resource is one watched resource.
type resource struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

// node is what the graph knows of one object.
type node struct {
	res        resource
	namespace  string
	name       string
	uid        types.UID
	owners     []metav1.OwnerReference
	deleting   bool // it has a deletionTimestamp
	finalizers []string
}

// waitsForDependents reports whether n is being deleted in the foreground.
func (n *node) waitsForDependents() bool {
	return n.deleting && slices.Contains(n.finalizers, metav1.FinalizerDeleteDependents)
}

// Controller is the garbage collector.
type Controller struct {
	meta      metadata.Interface
	dyn       dynamic.Interface
	discovery discovery.DiscoveryInterface
	log       *slog.Logger
	loop      *reconcile.Loop
	// rediscover, when it signals, has the collector discover the resources again.
	rediscover <-chan struct{}

	mu         sync.Mutex
	byKind     map[schema.GroupKind]resource
	nodes      map[types.UID]*node
	dependents map[types.UID]map[types.UID]struct{} // owner UID -> dependents' UIDs
}

// New returns the garbage collector; Run starts it.
// rediscover (which may be nil) signals that the served resources changed.
func New(meta metadata.Interface, dyn dynamic.Interface, disc discovery.DiscoveryInterface, rediscover <-chan struct{}, log *slog.Logger) *Controller {
	c := &Controller{
		meta: meta, dyn: dyn, discovery: disc, log: log.With("controller", "garbagecollector"), rediscover: rediscover,
		byKind:     map[schema.GroupKind]resource{},
		nodes:      map[types.UID]*node{},
		dependents: map[types.UID]map[types.UID]struct{}{},
	}
	c.loop = reconcile.New("garbagecollector", c.sync, log)
	return c
}

// Run discovers the resources, watches their metadata, and collects garbage until ctx
// ends. It starts collecting once every watch has listed what exists. Resources that
// come and go later (custom resources) are found again whenever rediscover signals, and
// every rediscoverEvery.
func (c *Controller) Run(ctx context.Context) {
	resources := c.discover(ctx)
	if ctx.Err() != nil {
		return
	}
	watching := map[schema.GroupVersionResource]context.CancelFunc{}
	var synced []cache.InformerSynced
	for _, r := range resources {
		synced = append(synced, c.watch(ctx, r, watching))
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) && ctx.Err() == nil {
		c.log.Error("informers did not sync")
	}
	resyncing := make(chan struct{})
	go func() {
		defer close(resyncing)
		defer func() {
			for _, stop := range watching {
				stop()
			}
		}()
		tick := time.NewTicker(rediscoverEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.rediscover:
			case <-tick.C:
			}
			c.resync(ctx, watching)
		}
	}()
	c.loop.Run(ctx, workers)
	<-resyncing
}

// rediscoverEvery is how often the resources are discovered again without a signal, as
// upstream's collector resyncs them.
const rediscoverEvery = 30 * time.Second

// watch starts watching one resource's metadata and returns when it has listed.
func (c *Controller) watch(ctx context.Context, r resource, watching map[schema.GroupVersionResource]context.CancelFunc) cache.InformerSynced {
	wctx, stop := context.WithCancel(ctx)
	watching[r.gvr] = stop
	inf := metadatainformer.NewFilteredMetadataInformer(c.meta, r.gvr, "", 0, cache.Indexers{}, nil).Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(r, obj, false) },
		UpdateFunc: func(_, obj any) { c.observe(r, obj, false) },
		DeleteFunc: func(obj any) { c.observe(r, obj, true) },
	})
	if err != nil {
		c.log.Error("watching a resource", "resource", r.gvr, "err", err)
	}
	go inf.Run(wctx.Done())
	return inf.HasSynced
}

// resync watches the resources discovery lists now that were not watched, and stops
// watching those it no longer lists: their objects leave the graph as deleted.
func (c *Controller) resync(ctx context.Context, watching map[schema.GroupVersionResource]context.CancelFunc) {
	lists, err := c.discovery.ServerPreferredResources()
	if len(lists) == 0 {
		c.log.Warn("discovery failed; keeping the resources watched", "err", err)
		return
	}
	now := map[schema.GroupVersionResource]bool{}
	for _, r := range c.index(lists) {
		now[r.gvr] = true
		if _, ok := watching[r.gvr]; !ok {
			c.watch(ctx, r, watching)
		}
	}
	if err != nil {
		return // a group that failed is not a group that went
	}
	for gvr, stop := range watching {
		if now[gvr] {
			continue
		}
		stop()
		delete(watching, gvr)
		c.forget(gvr)
	}
}

// forget drops the objects of a resource no longer served, as deleted.
func (c *Controller) forget(gvr schema.GroupVersionResource) {
	var gone []*metav1.PartialObjectMetadata
	c.mu.Lock()
	for kind, r := range c.byKind {
		if r.gvr == gvr {
			delete(c.byKind, kind)
		}
	}
	for uid, n := range c.nodes {
		if n.res.gvr == gvr {
			gone = append(gone, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{UID: uid, Name: n.name, Namespace: n.namespace, OwnerReferences: n.owners}})
		}
	}
	c.mu.Unlock()
	for _, m := range gone {
		c.observe(resource{gvr: gvr}, m, true)
	}
}

// discover lists the resources to watch, retrying until discovery answers. A partial
// answer (one group failing) is used as it is.
func (c *Controller) discover(ctx context.Context) []resource {
	for {
		lists, err := c.discovery.ServerPreferredResources()
		if len(lists) > 0 {
			if err != nil {
				c.log.Warn("discovery is partial; collecting in the groups it lists", "err", err)
			}
			return c.index(lists)
		}
		c.log.Warn("discovery failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (c *Controller) index(lists []*metav1.APIResourceList) []resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []resource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, ar := range l.APIResources {
			if !sets.New(ar.Verbs...).HasAll("list", "watch", "delete") {
				continue
			}
			r := resource{gvr: gv.WithResource(ar.Name), namespaced: ar.Namespaced}
			c.byKind[schema.GroupKind{Group: gv.Group, Kind: ar.Kind}] = r
			out = append(out, r)
		}
	}
	return out
}

// observe records an object's change in the graph and queues what it may concern:
// the object itself when its owners or its deletion changed, its dependents when it is
// gone, and its owners that wait for their dependents.
func (c *Controller) observe(r resource, obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	var queue []types.UID
	c.mu.Lock()
	old := c.nodes[m.UID]
	if old != nil {
		for _, ref := range old.owners {
			c.unlink(ref.UID, m.UID)
		}
	}
	if deleted {
		delete(c.nodes, m.UID)
		for dep := range c.dependents[m.UID] {
			queue = append(queue, dep)
		}
		if old != nil {
			queue = append(queue, c.waitingOwners(old)...)
		}
	} else {
		n := &node{res: r, namespace: m.Namespace, name: m.Name, uid: m.UID, owners: m.OwnerReferences,
			deleting: m.DeletionTimestamp != nil, finalizers: m.Finalizers}
		c.nodes[m.UID] = n
		for _, ref := range n.owners {
			set := c.dependents[ref.UID]
			if set == nil {
				set = map[types.UID]struct{}{}
				c.dependents[ref.UID] = set
			}
			set[m.UID] = struct{}{}
		}
		if old == nil || !equality.Semantic.DeepEqual(old.owners, n.owners) || old.deleting != n.deleting || !slices.Equal(old.finalizers, n.finalizers) {
			queue = append(queue, m.UID)
			queue = append(queue, c.waitingOwners(n)...)
			if old != nil {
				// An owner n no longer names (or no longer blocks) may be waiting for it.
				queue = append(queue, c.waitingOwners(old)...)
			}
		}
	}
	c.mu.Unlock()
	for _, uid := range queue {
		c.loop.Add(string(uid))
	}
}

// unlink forgets that dep depends on owner; c.mu is held.
func (c *Controller) unlink(owner, dep types.UID) {
	if set := c.dependents[owner]; set != nil {
		delete(set, dep)
		if len(set) == 0 {
			delete(c.dependents, owner)
		}
	}
}

// waitingOwners returns n's owners that are being deleted in the foreground; c.mu is
// held.
func (c *Controller) waitingOwners(n *node) []types.UID {
	var out []types.UID
	for _, ref := range n.owners {
		if o := c.nodes[ref.UID]; o != nil && o.waitsForDependents() {
			out = append(out, o.uid)
		}
	}
	return out
}

// get returns a copy of the graph's node for uid, or nil.
func (c *Controller) get(uid types.UID) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.nodes[uid]; n != nil {
		cp := *n
		return &cp
	}
	return nil
}

// dependentsOf returns copies of the nodes that name uid as an owner.
func (c *Controller) dependentsOf(uid types.UID) []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node
	for dep := range c.dependents[uid] {
		if n := c.nodes[dep]; n != nil {
			cp := *n
			out = append(out, &cp)
		}
	}
	return out
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	n := c.get(types.UID(key))
	if n == nil {
		return 0, nil
	}
	if n.deleting && slices.Contains(n.finalizers, metav1.FinalizerOrphanDependents) {
		return 0, c.orphanDependents(ctx, n)
	}
	if n.waitsForDependents() {
		if err := c.deleteDependents(ctx, n); err != nil {
			return 0, err
		}
	}
	if len(n.owners) == 0 || (n.deleting && !n.waitsForDependents()) {
		return 0, nil // nothing to collect, or already going
	}
	return 0, c.collect(ctx, n)
}

// orphanDependents removes n's references from its dependents, then its orphan
// finalizer.
func (c *Controller) orphanDependents(ctx context.Context, n *node) error {
	for _, d := range c.dependentsOf(n.uid) {
		if err := c.dropOwners(ctx, d, []types.UID{n.uid}); err != nil {
			return err
		}
	}
	return c.dropFinalizer(ctx, n, metav1.FinalizerOrphanDependents)
}

// deleteDependents queues n's dependents, which then see their owner waiting for them
// and go; once none left blocks n, its foregroundDeletion finalizer goes.
func (c *Controller) deleteDependents(ctx context.Context, n *node) error {
	blocking := false
	for _, d := range c.dependentsOf(n.uid) {
		c.loop.Add(string(d.uid))
		for _, ref := range d.owners {
			if ref.UID == n.uid && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				blocking = true
			}
		}
	}
	if blocking {
		return nil // a dependent's deletion queues n again
	}
	return c.dropFinalizer(ctx, n, metav1.FinalizerDeleteDependents)
}

// ownerState is what became of one owner.
type ownerState int

const (
	ownerSolid   ownerState = iota // it exists and is not waiting for its dependents
	ownerGone                      // not found, or found with another UID
	ownerWaiting                   // it is being deleted in the foreground
)

// collect looks at n's owners and deletes n when none is left, or drops its
// references to the gone ones when some are.
func (c *Controller) collect(ctx context.Context, n *node) error {
	var solid, gone, waiting []types.UID
	for _, ref := range n.owners {
		st, err := c.ownerState(ctx, n, ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerGone:
			gone = append(gone, ref.UID)
		case ownerWaiting:
			waiting = append(waiting, ref.UID)
		default:
			solid = append(solid, ref.UID)
		}
	}
	switch {
	case len(gone) == 0 && len(waiting) == 0:
		return nil
	case len(solid) > 0:
		return c.dropOwners(ctx, n, append(gone, waiting...))
	case len(waiting) > 0 && len(c.dependentsOf(n.uid)) > 0:
		// Its own dependents go first, so that the owner waiting for it waits for them.
		// A dependent that waits for its own dependents may close a circle back to n's
		// owner: n then stops blocking its owners, so that the circle does not wait on
		// itself for ever.
		for _, dep := range c.dependentsOf(n.uid) {
			if dep.waitsForDependents() {
				if err := c.unblockOwners(ctx, n); err != nil {
					return err
				}
				break
			}
		}
		return c.delete(ctx, n, metav1.DeletePropagationForeground)
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case slices.Contains(n.finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	case slices.Contains(n.finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	}
	return c.delete(ctx, n, policy)
}

// ownerState finds out what became of the owner ref names: from the graph, or from the
// API server when the graph does not hold it.
func (c *Controller) ownerState(ctx context.Context, dep *node, ref metav1.OwnerReference) (ownerState, error) {
	if o := c.get(ref.UID); o != nil {
		if o.waitsForDependents() {
			return ownerWaiting, nil
		}
		return ownerSolid, nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ownerGone, nil // no such owner can exist
	}
	c.mu.Lock()
	r, ok := c.byKind[schema.GroupKind{Group: gv.Group, Kind: ref.Kind}]
	c.mu.Unlock()
	if !ok {
		return ownerSolid, nil // a kind not served: nothing is decided about it
	}
	namespace := ""
	if r.namespaced {
		if dep.namespace == "" {
			return ownerGone, nil // a cluster-scoped object cannot have a namespaced owner
		}
		namespace = dep.namespace
	}
	m, err := c.meta.Resource(r.gvr).Namespace(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ownerGone, nil
	case err != nil:
		return 0, fmt.Errorf("looking up owner %s %s: %w", ref.Kind, ref.Name, err)
	case m.UID != ref.UID:
		return ownerGone, nil
	case m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, metav1.FinalizerDeleteDependents):
		return ownerWaiting, nil
	}
	return ownerSolid, nil
}

// delete deletes n, if it is still the object with n's UID.
func (c *Controller) delete(ctx context.Context, n *node, policy metav1.DeletionPropagation) error {
	uid := n.uid
	err := c.dyn.Resource(n.res.gvr).Namespace(n.namespace).Delete(ctx, n.name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &policy,
	})
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		if err == nil {
			c.log.Debug("deleted an object whose owners are gone", "resource", n.res.gvr.Resource, "namespace", n.namespace, "name", n.name, "propagation", policy)
		}
		return nil
	}
	return fmt.Errorf("deleting %s %s/%s: %w", n.res.gvr.Resource, n.namespace, n.name, err)
}

// dropOwners removes the references to owners from n.
func (c *Controller) dropOwners(ctx context.Context, n *node, owners []types.UID) error {
	return c.patchMeta(ctx, n, func(m metav1.Object) (any, bool) {
		refs := slices.DeleteFunc(m.GetOwnerReferences(), func(ref metav1.OwnerReference) bool {
			return slices.Contains(owners, ref.UID)
		})
		if len(refs) == len(m.GetOwnerReferences()) {
			return nil, false
		}
		if len(refs) == 0 {
			return map[string]any{"ownerReferences": nil}, true
		}
		return map[string]any{"ownerReferences": refs}, true
	})
}

// unblockOwners sets blockOwnerDeletion to false in n's owner references.
func (c *Controller) unblockOwners(ctx context.Context, n *node) error {
	return c.patchMeta(ctx, n, func(m metav1.Object) (any, bool) {
		refs := m.GetOwnerReferences()
		changed := false
		for i := range refs {
			if refs[i].BlockOwnerDeletion != nil && *refs[i].BlockOwnerDeletion {
				no := false
				refs[i].BlockOwnerDeletion = &no
				changed = true
			}
		}
		return map[string]any{"ownerReferences": refs}, changed
	})
}

// dropFinalizer removes finalizer from n.
func (c *Controller) dropFinalizer(ctx context.Context, n *node, finalizer string) error {
	return c.patchMeta(ctx, n, func(m metav1.Object) (any, bool) {
		if !slices.Contains(m.GetFinalizers(), finalizer) {
			return nil, false
		}
		rest := slices.DeleteFunc(slices.Clone(m.GetFinalizers()), func(f string) bool { return f == finalizer })
		if len(rest) == 0 {
			return map[string]any{"finalizers": nil}, true
		}
		return map[string]any{"finalizers": rest}, true
	})
}

// patchMeta reads n as it is now and merge-patches its metadata with what change
// returns, with the resourceVersion read as a precondition; a conflict is retried by
// the queue.
func (c *Controller) patchMeta(ctx context.Context, n *node, change func(m metav1.Object) (any, bool)) error {
	client := c.dyn.Resource(n.res.gvr).Namespace(n.namespace)
	cur, err := client.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.GetUID() != n.uid {
		return nil
	}
	fields, ok := change(cur)
	if !ok {
		return nil
	}
	md := fields.(map[string]any)
	md["resourceVersion"] = cur.GetResourceVersion()
	md["uid"] = string(n.uid)
	patch, err := json.Marshal(map[string]any{"metadata": md})
	if err != nil {
		return err
	}
	_, err = client.Patch(ctx, n.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
