package nodelifecycle

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/podium/podium/internal/controller/reconcile"
)

// LeaseNamespace holds the nodes' Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// componentSource is the source of the controller's node and pod-readiness events.
const componentSource = "node-controller"

// Controller watches nodes' heartbeats, taints the nodes and evicts their pods.
type Controller struct {
	client kubernetes.Interface
	cfg    Config
	log    *slog.Logger

	nodes    corelisters.NodeLister
	leases   coordinationlisters.LeaseLister
	pods     corelisters.PodLister
	podIndex cache.Indexer

	// taintLoop keeps each node's NoSchedule taints; boundLoop marks pods bound to a node
	// that is not ready. evictQueue holds pods to look at for NoExecute eviction; its
	// delays run on cfg.Clock.
	taintLoop  *reconcile.Loop
	boundLoop  *reconcile.Loop
	evictQueue workqueue.TypedRateLimitingInterface[string]

	broadcaster   record.EventBroadcaster
	recorder      record.EventRecorder // node-controller
	evictRecorder record.EventRecorder // taint-eviction-controller

	mu sync.Mutex // guards health
	// health is each known node's health, by name.
	health map[string]*health

	// The monitor pass's own state, used by one goroutine at a time.
	known map[string]types.UID // nodes seen, for RegisteredNode and RemovingNode events
	retry map[string]bool      // nodes whose pods are still to be marked not ready
	zones map[string]*zone

	evictMu sync.Mutex // guards evictions
	// evictions are the pods' scheduled deletions, by namespace/name.
	evictions map[string]eviction
}

// New returns the controller on factory's informers (nodes, pods and Leases), which the
// caller starts and syncs before Run.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, cfg Config, log *slog.Logger) (*Controller, error) {
	cfg = cfg.withDefaults()
	c := &Controller{client: client, cfg: cfg, log: log.With("controller", "nodelifecycle"),
		health: map[string]*health{}, known: map[string]types.UID{}, retry: map[string]bool{},
		zones: map[string]*zone{}, evictions: map[string]eviction{}}
	c.taintLoop = reconcile.New("node-taints", func(ctx context.Context, name string) (time.Duration, error) {
		return 0, c.syncNoSchedule(ctx, name)
	}, log)
	c.boundLoop = reconcile.New("node-pods-not-ready", func(ctx context.Context, key string) (time.Duration, error) {
		return 0, c.syncBoundPod(ctx, key)
	}, log)
	c.evictQueue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "taint-eviction", Clock: cfg.Clock})
	// The broadcaster lives as long as the process: events of work still finishing
	// when ctx ends are sent rather than refused.
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: componentSource})
	c.evictRecorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: evictionComponentSource})

	nodeInf, podInf := factory.Core().V1().Nodes(), factory.Core().V1().Pods()
	leaseInf := factory.Coordination().V1().Leases()
	c.nodes, c.pods, c.leases = nodeInf.Lister(), podInf.Lister(), leaseInf.Lister()
	if err := podInf.Informer().AddIndexers(cache.Indexers{podsByNode: indexByNode}); err != nil {
		return nil, err
	}
	c.podIndex = podInf.Informer().GetIndexer()
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			n := obj.(*corev1.Node)
			if needsNoSchedule(n) {
				c.taintLoop.Add(n.Name)
			}
			c.queuePodsOn(n.Name)
		},
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.Node), cur.(*corev1.Node)
			if needsNoSchedule(n) {
				c.taintLoop.Add(n.Name)
			}
			if !equality.Semantic.DeepEqual(noExecuteTaints(o.Spec.Taints), noExecuteTaints(n.Spec.Taints)) {
				c.queuePodsOn(n.Name)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				c.queuePodsOn(n.Name)
			}
		},
	}); err != nil {
		return nil, err
	}
	// A pod bound to a node, or whose tolerations change, is looked at only when its
	// node is not ready or tainted: the node's own change queues its pods otherwise.
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p := obj.(*corev1.Pod); p.Spec.NodeName != "" {
				c.podBound(p)
			}
		},
		UpdateFunc: func(old, cur any) {
			o, p := old.(*corev1.Pod), cur.(*corev1.Pod)
			switch {
			case p.Spec.NodeName == "":
			case o.Spec.NodeName != p.Spec.NodeName:
				c.podBound(p)
			case !equality.Semantic.DeepEqual(o.Spec.Tolerations, p.Spec.Tolerations) && c.nodeTainted(p.Spec.NodeName):
				c.evictQueue.Add(p.Namespace + "/" + p.Name)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				key := p.Namespace + "/" + p.Name
				c.evictMu.Lock()
				_, scheduled := c.evictions[key]
				c.evictMu.Unlock()
				if scheduled {
					c.evictQueue.Add(key)
				}
			}
		},
	}); err != nil {
		return nil, err
	}
	// Leases need no handler: the monitor pass reads them every period.
	return c, nil
}

func (c *Controller) podBound(p *corev1.Pod) {
	key := p.Namespace + "/" + p.Name
	if s := c.readyOf(p.Spec.NodeName); s != "" && s != corev1.ConditionTrue {
		c.boundLoop.Add(key)
	}
	if c.nodeTainted(p.Spec.NodeName) {
		c.evictQueue.Add(key)
	}
}

// nodeTainted tells whether the node has NoExecute taints, by the informer's cache.
func (c *Controller) nodeTainted(name string) bool {
	n, err := c.nodes.Get(name)
	return err == nil && len(noExecuteTaints(n.Spec.Taints)) > 0
}

func (c *Controller) queuePodsOn(node string) {
	for _, p := range c.podsOn(node) {
		c.evictQueue.Add(p.Namespace + "/" + p.Name)
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	go c.taintLoop.Run(ctx, 1)
	go c.boundLoop.Run(ctx, 1)
	go c.runEvictions(ctx)
	t := c.cfg.Clock.NewTicker(c.cfg.MonitorPeriod)
	defer t.Stop()
	for {
		c.monitor(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// runEvictions works the eviction queue until ctx ends.
func (c *Controller) runEvictions(ctx context.Context) {
	go func() {
		<-ctx.Done()
		c.evictQueue.ShutDown()
	}()
	for {
		key, quit := c.evictQueue.Get()
		if quit {
			return
		}
		again, err := c.syncEviction(ctx, key)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				c.log.Warn("evicting pod; retrying", "pod", key, "err", err)
			}
			c.evictQueue.AddRateLimited(key)
		case again > 0:
			c.evictQueue.Forget(key)
			c.evictQueue.AddAfter(key, again)
		default:
			c.evictQueue.Forget(key)
		}
		c.evictQueue.Done(key)
	}
}

// monitor is one pass over all nodes: it marks silent nodes Unknown, marks the pods of
// nodes it turned not ready, queues NoExecute taints (or removes them from ready nodes),
// updates the zones' states and adds the queued taints their rates allow.
func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		c.log.Error("listing nodes", "err", err)
		return
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	c.registerNodes(nodes)
	now := c.cfg.Clock.Now()
	byZone := map[string][]corev1.ConditionStatus{}
	latest := make(map[string]*corev1.Node, len(nodes)) // nodes as this pass left them
	for _, n := range nodes {
		latest[n.Name] = n
		node, observed, current, err := c.checkHealth(ctx, n, now)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("updating node health", "node", n.Name, "err", err)
			}
			continue
		}
		// Node events keep the NoSchedule taints in step; this catches what they missed,
		// and what this pass changed, at once.
		if tainted, err := c.syncNoScheduleOf(ctx, node); err == nil {
			node = tainted
			latest[n.Name] = node
		} else if ctx.Err() == nil {
			c.log.Warn("updating NoSchedule taints", "node", node.Name, "err", err)
		}
		if _, excluded := node.Labels[excludeDisruptionLabel]; !excluded {
			byZone[zoneKey(node)] = append(byZone[zoneKey(node)], current)
		}
		if current == "" {
			continue
		}
		node = c.noExecute(ctx, node, current)
		latest[n.Name] = node
		if observed == corev1.ConditionTrue && current != corev1.ConditionTrue {
			c.recorder.Eventf(&corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID},
				corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: %s", node.Name, "NodeNotReady")
			c.retry[node.Name] = true
		}
		if c.retry[node.Name] && current != corev1.ConditionTrue {
			if err := c.markPodsNotReady(ctx, node.Name); err != nil {
				c.log.Warn("marking pods not ready; retrying", "node", node.Name, "err", err)
				continue
			}
		}
		delete(c.retry, node.Name)
	}
	c.handleDisruption(ctx, byZone, latest, now)
	c.taintQueued(ctx, latest)
}

// registerNodes records nodes that appeared and forgets those that went.
func (c *Controller) registerNodes(nodes []*corev1.Node) {
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		seen[n.Name] = true
		if _, ok := c.known[n.Name]; !ok {
			c.known[n.Name] = n.UID
			c.nodeEvent(n.Name, n.UID, "RegisteredNode", "Registered Node "+n.Name+" in Controller")
		}
	}
	for name, uid := range c.known {
		if seen[name] {
			continue
		}
		delete(c.known, name)
		delete(c.retry, name)
		c.mu.Lock()
		delete(c.health, name)
		c.mu.Unlock()
		for _, z := range c.zones {
			z.remove(name)
		}
		c.nodeEvent(name, uid, "RemovingNode", "Removing Node "+name+" from Controller")
	}
}

func (c *Controller) nodeEvent(name string, uid types.UID, reason, message string) {
	c.recorder.Eventf(&corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: uid},
		corev1.EventTypeNormal, reason, "Node %s event: %s", name, message)
}

// checkHealth updates what the controller knows of node's signs of life and, when the
// node has been silent longer than its grace period, writes its conditions as Unknown.
// It returns the node as it now is and its Ready status before and after ("" for none).
func (c *Controller) checkHealth(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, corev1.ConditionStatus, corev1.ConditionStatus, error) {
	var lease *coordinationv1.Lease
	if l, err := c.leases.Leases(LeaseNamespace).Get(node.Name); err == nil {
		lease = l
	}
	c.mu.Lock()
	h, grace := observe(c.health[node.Name], node, lease, now, c.cfg)
	c.mu.Unlock()
	observed := readyStatus(node)
	if now.After(h.probe.Add(grace)) {
		next := node.DeepCopy()
		if markUnknown(&next.Status, node.CreationTimestamp, metav1.NewTime(now)) {
			updated, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
			if err != nil {
				c.setHealth(node.Name, h, observed)
				return node, observed, observed, err
			}
			c.log.Info("node stopped posting status", "node", node.Name, "silentFor", now.Sub(h.probe).Round(time.Second))
			node = updated
		}
	}
	current := readyStatus(node)
	c.setHealth(node.Name, h, current)
	return node, observed, current, nil
}

func (c *Controller) setHealth(name string, h *health, status corev1.ConditionStatus) {
	h.status = status
	c.mu.Lock()
	c.health[name] = h
	c.mu.Unlock()
}

// readyOf returns the Ready status the last pass left node with, "" when unknown.
func (c *Controller) readyOf(name string) corev1.ConditionStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.health[name]; h != nil {
		return h.status
	}
	return ""
}

// syncNoSchedule brings the NoSchedule taints of the node named name in step with its
// conditions and spec.unschedulable.
func (c *Controller) syncNoSchedule(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = c.syncNoScheduleOf(ctx, node)
	return err
}

// syncNoScheduleOf is syncNoSchedule of a node in hand; it returns the node as written.
func (c *Controller) syncNoScheduleOf(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	now := metav1.NewTime(c.cfg.Clock.Now())
	return c.editTaints(ctx, node, func(n *corev1.Node) []corev1.Taint {
		return withNoSchedule(n.Spec.Taints, noScheduleTaints(n), now)
	})
}

// noExecute keeps node's NoExecute taints in step with its Ready status: a ready node
// loses them at once; a node that already has the other one of the pair swaps it at
// once; any other node waits in its zone's queue for taintQueued. It returns the node as
// written.
func (c *Controller) noExecute(ctx context.Context, node *corev1.Node, ready corev1.ConditionStatus) *corev1.Node {
	want, other, ok := noExecuteFor(ready)
	z := c.zone(zoneKey(node))
	switch {
	case !ok:
		z.remove(node.Name)
		node, _ = c.taint(ctx, node, nil, []corev1.Taint{notReadyNoExecute, unreachableNoExecute})
	case hasTaint(node.Spec.Taints, want):
		z.remove(node.Name)
	case hasTaint(node.Spec.Taints, other):
		z.remove(node.Name)
		node, _ = c.taint(ctx, node, []corev1.Taint{want}, []corev1.Taint{other})
	default:
		z.add(node.Name)
	}
	return node
}

// noExecuteFor returns the NoExecute taint a node with Ready status ready gets and the
// one it loses; ok is false for a ready node, which has neither.
func noExecuteFor(ready corev1.ConditionStatus) (want, other corev1.Taint, ok bool) {
	switch ready {
	case corev1.ConditionFalse:
		return notReadyNoExecute, unreachableNoExecute, true
	case corev1.ConditionUnknown:
		return unreachableNoExecute, notReadyNoExecute, true
	}
	return corev1.Taint{}, corev1.Taint{}, false
}

// taint adds and removes NoExecute taints of node and returns it as written; ok is
// false if that failed.
func (c *Controller) taint(ctx context.Context, node *corev1.Node, add, remove []corev1.Taint) (*corev1.Node, bool) {
	now := metav1.NewTime(c.cfg.Clock.Now())
	out, err := c.editTaints(ctx, node, func(n *corev1.Node) []corev1.Taint {
		return withTaints(n.Spec.Taints, add, remove, now)
	})
	if err != nil && ctx.Err() == nil {
		c.log.Warn("updating NoExecute taints", "node", node.Name, "err", err)
	}
	return out, err == nil
}

func (c *Controller) zone(key string) *zone {
	z := c.zones[key]
	if z == nil {
		z = newZone(c.cfg.EvictionRate, c.cfg.Clock)
		c.zones[key] = z
	}
	return z
}

// taintQueued gives queued nodes their NoExecute taint, as many in each zone as its rate
// allows, in the order they were queued. nodes are the nodes by name.
func (c *Controller) taintQueued(ctx context.Context, nodes map[string]*corev1.Node) {
	keys := make([]string, 0, len(c.zones))
	for k := range c.zones {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		z := c.zones[k]
		for len(z.queue) > 0 {
			name := z.queue[0]
			node := nodes[name]
			want, other, ok := noExecuteFor(c.readyOf(name))
			if node == nil || !ok || hasTaint(node.Spec.Taints, want) {
				z.remove(name)
				continue
			}
			if z.limiter == nil || !z.limiter.TryAccept() {
				break
			}
			z.remove(name)
			if tainted, ok := c.taint(ctx, node, []corev1.Taint{want}, []corev1.Taint{other}); ok {
				nodes[name] = tainted
			} else {
				z.add(name)
			}
		}
	}
}

// handleDisruption updates the zones' states from the Ready statuses of their nodes,
// and their tainting rates with them. When every zone has no ready node, the fault is
// more likely the control plane's: NoExecute tainting stops and the taints go until some
// node is ready again, when every node gets a fresh grace period.
func (c *Controller) handleDisruption(ctx context.Context, byZone map[string][]corev1.ConditionStatus, nodes map[string]*corev1.Node, now time.Time) {
	states := make(map[string]zoneState, len(byZone))
	allFull := true
	for k, ready := range byZone {
		states[k] = computeZoneState(ready, c.cfg.UnhealthyZoneThreshold)
		if states[k] != zoneFull {
			allFull = false
		}
		c.zone(k)
	}
	wasFull := true
	for k, z := range c.zones {
		if _, ok := byZone[k]; !ok {
			delete(c.zones, k)
			continue
		}
		if z.state != zoneFull {
			wasFull = false
		}
	}
	switch {
	case allFull && wasFull:
	case allFull:
		c.log.Info("no node is ready: NoExecute taints are removed and no more are added until one is")
		for _, n := range nodes {
			nodes[n.Name], _ = c.taint(ctx, n, nil, []corev1.Taint{notReadyNoExecute, unreachableNoExecute})
		}
		for _, z := range c.zones {
			z.setRate(0, c.cfg.Clock)
			z.state = zoneFull
		}
	default:
		if wasFull {
			c.log.Info("some nodes are ready again: NoExecute tainting resumes")
			c.mu.Lock()
			for _, h := range c.health {
				h.probe = now
			}
			c.mu.Unlock()
		}
		for k, z := range c.zones {
			if s := states[k]; wasFull || s != z.state {
				z.setRate(c.rateFor(s, len(byZone[k])), c.cfg.Clock)
				z.state = s
			}
		}
	}
}

// rateFor returns the tainting rate of a zone of size nodes in state s.
func (c *Controller) rateFor(s zoneState, size int) float32 {
	if s == zonePartial {
		if size > c.cfg.LargeClusterThreshold {
			return c.cfg.SecondaryEvictionRate
		}
		return 0
	}
	return c.cfg.EvictionRate
}
