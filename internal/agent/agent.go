package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/agent/prober"
	"github.com/podium/podium/internal/resourcename"
	"github.com/podium/podium/internal/runtime"
)

// Config is what an agent is built from.
type Config struct {
	NodeName string
	Client   kubernetes.Interface
	// NewRuntime makes the container runtime once the node's pod CIDR is known.
	NewRuntime func(podCIDR string) (runtime.Runtime, runtime.ImageService, error)
	Info       NodeInfo
	// DataDir holds the pods' volumes and termination messages.
	DataDir string
	// PodLogDir is where container logs go (/var/log/pods).
	PodLogDir string
	Clock     clock.WithTicker
	// BackOffBase and BackOffMax bound the restart back-off (upstream: 10 s, 300 s).
	BackOffBase, BackOffMax time.Duration
	// Relist is how often the runtime is read for changes (upstream's PLEG: 1 s).
	Relist time.Duration
	// Resync is how often a pod is synced although nothing changed (upstream's
	// --sync-frequency, 1 minute); volumes get their ConfigMaps' and Secrets' updates
	// then.
	Resync time.Duration
	// Heartbeat is how often the Lease is renewed and the Node status reported.
	Heartbeat time.Duration
	// SyncRoutes, when set, makes the host's routes to other nodes' pod CIDRs match
	// the map it is given (pod CIDR → node address).
	SyncRoutes func(ctx context.Context, want map[string]string) error
	// DNS is the cluster DNS pods of dnsPolicy ClusterFirst get.
	DNS DNS
	// ResolvConf is the host's resolver configuration, which pods of dnsPolicy Default
	// get ("/etc/resolv.conf" when empty).
	ResolvConf string
	// ServiceProxy, when set, is given the agent's informer factory (before it starts)
	// and returns what programs the node's service dataplane; the agent runs it until it
	// stops.
	ServiceProxy func(factory informers.SharedInformerFactory) (run func(ctx context.Context), err error)
	// ProbeMetrics, when set, receives probe durations and results.
	ProbeMetrics *prober.Metrics
	Logger       *slog.Logger
}

// Agent is a kubelet.
type Agent struct {
	cfg          Config
	rt           runtime.Runtime
	images       runtime.ImageService
	planner      *Planner
	imageBackOff *flowcontrol.Backoff
	recorder     record.EventRecorder
	dirs         podDirs
	src          objectSource
	log          *slog.Logger

	probes *prober.Manager
	ports  *hostPorts
	// running counts the goroutines Run started (pod workers and their kills, the
	// heartbeat); Run returns only once they ended.
	running sync.WaitGroup

	mu      sync.Mutex // guards workers, terminated and synced
	workers map[types.UID]*worker
	// terminated holds pods whose termination is done while their API object remains
	// (finalizers hold it): they get no worker again.
	terminated map[types.UID]bool
	synced     bool
	node       *corev1.Node
}

// New returns an agent; Run starts it.
func New(cfg Config) *Agent {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.BackOffBase == 0 {
		cfg.BackOffBase = 10 * time.Second
	}
	if cfg.BackOffMax == 0 {
		cfg.BackOffMax = 300 * time.Second
	}
	if cfg.Relist == 0 {
		cfg.Relist = time.Second
	}
	if cfg.Resync == 0 {
		cfg.Resync = time.Minute
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Info.Name = cfg.NodeName
	return &Agent{
		cfg:          cfg,
		planner:      newPlanner(cfg),
		imageBackOff: flowcontrol.NewFakeBackOff(cfg.BackOffBase, cfg.BackOffMax, cfg.Clock),
		dirs:         podDirs{root: cfg.DataDir},
		src:          objectSource{client: cfg.Client, allocatable: cfg.Info.capacity(), tokens: newTokens(cfg.Client)},
		log:          cfg.Logger.With("node", cfg.NodeName),
		workers:      map[types.UID]*worker{},
		terminated:   map[types.UID]bool{},
		ports:        newHostPorts(),
	}
}

// Run registers the node and runs its pods until ctx ends. It returns an error if the
// node cannot be registered or the runtime cannot start.
func (a *Agent) Run(ctx context.Context) error {
	node, err := register(ctx, a.cfg.Client, a.cfg.Info, metav1.NewTime(a.cfg.Clock.Now()))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if node.Spec.PodCIDR == "" {
		return fmt.Errorf("node %s has no pod CIDR: the server allocates one when the Node is created (--cluster-cidr)", node.Name)
	}
	a.node = node
	a.rt, a.images, err = a.cfg.NewRuntime(node.Spec.PodCIDR)
	if err != nil {
		return fmt.Errorf("container runtime: %w", err)
	}
	a.probes = prober.NewManager(a.cfg.Clock, a.rt, probeEvents{a: a}, a.cfg.ProbeMetrics)
	// The broadcaster lives as long as the process: events of work still finishing
	// when ctx ends are sent rather than refused.
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.cfg.Client.CoreV1().Events("")})
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: a.cfg.NodeName})

	// Whatever ends Run stops what it started and waits for it: the informers first, so
	// that no handler starts a worker any more, then the goroutines.
	ctx, cancel := context.WithCancel(ctx)
	var factories []informers.SharedInformerFactory
	defer func() {
		cancel()
		for _, f := range factories {
			f.Shutdown()
		}
		a.running.Wait()
	}()
	a.running.Go(func() { every(ctx, a.cfg.Clock, a.cfg.Heartbeat, func() { a.heartbeat(ctx) }) })

	factory := informers.NewSharedInformerFactoryWithOptions(a.cfg.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
	}))
	podInformer := factory.Core().V1().Pods().Informer()
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.podChanged(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { a.podChanged(ctx, obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				a.podGone(pod.UID)
			}
		},
	}); err != nil {
		return err
	}
	nodeFactory := informers.NewSharedInformerFactory(a.cfg.Client, 0)
	if err := a.runRoutes(ctx, nodeFactory); err != nil {
		return err
	}
	if a.cfg.ServiceProxy != nil {
		runProxy, err := a.cfg.ServiceProxy(nodeFactory)
		if err != nil {
			return fmt.Errorf("service proxy: %w", err)
		}
		a.running.Go(func() { runProxy(ctx) })
	}
	services := nodeFactory.Core().V1().Services().Informer()
	// Set before any worker reads it: workers start as the first pods arrive.
	a.src.services, a.src.servicesSynced = nodeFactory.Core().V1().Services().Lister(), services.HasSynced
	factories = append(factories, factory, nodeFactory)
	nodeFactory.Start(ctx.Done())
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.HasSynced) {
		return nil // stopped before it began
	}
	a.mu.Lock()
	a.synced = true
	a.mu.Unlock()
	a.log.Info("node agent is running", "podCIDR", node.Spec.PodCIDR)
	every(ctx, a.cfg.Clock, a.cfg.Relist, func() { a.relist(ctx) })
	return nil
}

// heartbeat renews the Lease and reports the Node ready.
func (a *Agent) heartbeat(ctx context.Context) {
	if err := renewLease(ctx, a.cfg.Client, &a.node.ObjectMeta, a.cfg.Clock); err != nil && ctx.Err() == nil {
		a.log.Warn("renewing the node lease", "err", err)
	}
	node, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("reading the node", "err", err)
		}
		return
	}
	next := node.DeepCopy()
	next.Status = a.cfg.Info.nodeStatus(metav1.NewTime(a.cfg.Clock.Now()), true, "")
	next.Status.Images = node.Status.Images
	keepExtendedResources(&next.Status, &node.Status)
	mergeConditions(next.Status.Conditions, node.Status.Conditions)
	if _, err := a.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		a.log.Warn("reporting node status", "err", err)
	}
}

// keepExtendedResources carries over the extended resources (example.com/foo) that
// others advertise in the node's capacity and allocatable, as the kubelet leaves those
// it does not manage: the agent manages none.
func keepExtendedResources(next, cur *corev1.NodeStatus) {
	keep := func(dst *corev1.ResourceList, src corev1.ResourceList) {
		for name, q := range src {
			if _, ok := (*dst)[name]; ok || !resourcename.IsExtended(name) {
				continue
			}
			if *dst == nil {
				*dst = corev1.ResourceList{}
			}
			(*dst)[name] = q
		}
	}
	keep(&next.Capacity, cur.Capacity)
	keep(&next.Allocatable, cur.Allocatable)
}

// podChanged hands a pod's new state to its worker, starting one if needed.
func (a *Agent) podChanged(ctx context.Context, pod *corev1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.workers[pod.UID]
	if w == nil && a.terminated[pod.UID] {
		return
	}
	if w == nil {
		w = newWorker(a, pod.UID)
		a.workers[pod.UID] = w
		a.running.Go(func() { w.run(ctx) })
	}
	w.update(pod)
}

// podGone tells a pod's worker that its object was deleted from the API.
func (a *Agent) podGone(uid types.UID) {
	a.src.tokens.forget(uid)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.terminated, uid)
	if w := a.workers[uid]; w != nil {
		w.gone()
	}
}

// workerDone forgets a pod's worker; terminated says the pod was stopped for its
// deletion but its object may remain.
func (a *Agent) workerDone(uid types.UID, terminated bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.workers, uid)
	a.ports.release(uid)
	if terminated {
		a.terminated[uid] = true
	}
}

// relist reads the runtime and wakes the workers whose pods changed there; it cleans
// up pods the runtime holds that the API no longer has.
func (a *Agent) relist(ctx context.Context) {
	sigs, err := signatures(ctx, a.rt)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("reading the runtime", "err", err)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, w := range a.workers {
		w.runtimeChanged(sigs[uid])
	}
	if !a.synced {
		return
	}
	for uid := range sigs {
		if _, ok := a.workers[uid]; ok {
			continue
		}
		// An orphan: its pod was deleted while the agent was away.
		w := newWorker(a, uid)
		a.workers[uid] = w
		w.gone()
		a.running.Go(func() { w.run(ctx) })
	}
	a.planner.backOff.GC()
	a.imageBackOff.GC()
}

// newPlanner returns the agent's planner, which knows the node's allocatable resources.
func newPlanner(cfg Config) *Planner {
	pl := NewPlanner(cfg.Clock, cfg.BackOffBase, cfg.BackOffMax)
	pl.Allocatable = cfg.Info.capacity()
	return pl
}
