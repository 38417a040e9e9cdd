package scheduler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/scheduler/cache"
	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/volumebinding"
	"github.com/podium/podium/internal/scheduler/preemption"
	"github.com/podium/podium/internal/scheduler/queue"
)

// Name is the scheduler's name in pods' spec.schedulerName.
const Name = corev1.DefaultSchedulerName

// Scheduler binds pending pods to nodes.
type Scheduler struct {
	client  kubernetes.Interface
	log     *slog.Logger
	opts    options
	cache   *cache.Cache
	queue   *queue.Queue
	profile *framework.Profile
	pods    corelisters.PodLister
	pdbs    policylisters.PodDisruptionBudgetLister
	// nominator holds the pending pods nominated to nodes; filters count them.
	nominator *nominator
	// volumes is the VolumeBinding plugin, whose claims the binders bind before the pod.
	volumes *volumebinding.VolumeBinding
	// preemption decides preemptions; the binders carry them out.
	preemption *preemption.Evaluator

	mu sync.Mutex // guards preempting
	// preempting holds the preemptors whose preemption the binders are carrying
	// out, by UID; such a pod is not retried until it is done.
	preempting map[types.UID]*preemptionInFlight

	// work carries bindings and status writes to the binders.
	work chan func(context.Context)

	// recorder is set by Run before the scheduling goroutine and the binders start.
	recorder record.EventRecorder

	// Owned by the scheduling goroutine (Run, scheduleOne).
	snapshot  *cache.Snapshot
	rand      *rand.Rand
	nextStart int
}

// options are the scheduler's knobs; New takes the defaults.
type options struct {
	clock clock.WithTicker
	// binders is the number of bindings and status writes in flight at once: enough
	// to keep up with pods created by many clients at once.
	binders int
	// parallelism is the number of goroutines filtering nodes; with fewer nodes than
	// parallelMinNodes, or parallelism 1, they are filtered on the scheduling
	// goroutine. The scheduler shares its process with the API server and etcd, and
	// on two cores filtering in parallel was measured slower (BenchmarkSchedulingCycle),
	// so it takes at most half the cores.
	parallelism      int
	parallelMinNodes int
	// queue tunes back-off and the unschedulable flush.
	queue queue.Options
}

func defaultOptions() options {
	return options{
		clock:            clock.RealClock{},
		binders:          32,
		parallelism:      min(4, runtime.GOMAXPROCS(0)/2),
		parallelMinNodes: 512,
	}
}

// New returns a scheduler on factory's informers (pods, nodes, namespaces,
// PodDisruptionBudgets), which the caller starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Scheduler, error) {
	return newScheduler(client, factory, log, defaultOptions())
}

func newScheduler(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger, opts options) (*Scheduler, error) {
	podInf, nodeInf, nsInf := factory.Core().V1().Pods(), factory.Core().V1().Nodes(), factory.Core().V1().Namespaces()
	pdbInf := factory.Policy().V1().PodDisruptionBudgets()
	claimInf, volumeInf, classInf := factory.Core().V1().PersistentVolumeClaims(), factory.Core().V1().PersistentVolumes(), factory.Storage().V1().StorageClasses()
	volumes := volumebinding.New(volumebinding.Listers{Claims: claimInf.Lister(), Volumes: volumeInf.Lister(), Classes: classInf.Lister()})
	s := &Scheduler{
		client:     client,
		log:        log.With("controller", "scheduler"),
		opts:       opts,
		cache:      cache.New(),
		profile:    defaultProfile(nsInf.Lister(), volumes),
		volumes:    volumes,
		pods:       podInf.Lister(),
		pdbs:       pdbInf.Lister(),
		nominator:  newNominator(),
		preempting: map[types.UID]*preemptionInFlight{},
		work:       make(chan func(context.Context), 4*opts.binders),
		snapshot:   cache.NewSnapshot(),
		rand:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	s.preemption = preemption.New(s.profile, s.nominator, opts.clock)
	qopts := opts.queue
	qopts.Clock = opts.clock
	s.queue = queue.New(s.profile.QueueingHint, qopts)
	if _, err := podInf.Informer().AddEventHandler(s.podHandler()); err != nil {
		return nil, err
	}
	if _, err := nodeInf.Informer().AddEventHandler(s.nodeHandler()); err != nil {
		return nil, err
	}
	// Claims, volumes and classes that change may let pods waiting for their volumes
	// fit.
	storageChanged := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.queue.MoveAll(framework.ClusterEvent{Kind: framework.StorageChange}) },
		UpdateFunc: func(any, any) { s.queue.MoveAll(framework.ClusterEvent{Kind: framework.StorageChange}) },
	}
	for _, inf := range []toolscache.SharedIndexInformer{claimInf.Informer(), volumeInf.Informer(), classInf.Informer()} {
		if _, err := inf.AddEventHandler(storageChanged); err != nil {
			return nil, err
		}
	}
	// Registered with the factory, so that they are started and synced.
	nsInf.Informer()
	pdbInf.Informer()
	return s, nil
}

// Run schedules until ctx ends. The caller has waited for the informers to sync.
func (s *Scheduler) Run(ctx context.Context) {
	// The broadcaster lives as long as the process: events of work still finishing
	// when ctx ends are sent rather than refused.
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	s.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Name})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.queue.Run(ctx)
	}()
	binders := make(chan struct{})
	for i := 0; i < s.opts.binders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case fn := <-s.work:
					fn(ctx)
				case <-binders:
					return
				}
			}
		}()
	}
	for s.scheduleOne(ctx) {
	}
	close(binders)
	wg.Wait()
}
