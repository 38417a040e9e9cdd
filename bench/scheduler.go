package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// SchedulerOptions size the scheduler benchmark.
type SchedulerOptions struct {
	Nodes   int // fake nodes, each with allocatable for NodePods pods
	Pods    int // pending pods created
	Workers int // concurrent creators
	// NodePods is each node's pod capacity.
	NodePods int
	// Profile, when set, is where the server's CPU profile over the first ProfileFor
	// of the run is saved.
	Profile    string
	ProfileFor time.Duration
	// Timeout bounds the wait for every pod to be bound.
	Timeout time.Duration
}

const schedBenchNamespace = "sched-bench"

// Scheduler starts `podium server --disable-agent`, registers opts.Nodes fake nodes
// whose Leases it keeps fresh (no agent runs: like kwok), creates opts.Pods pending
// pods with opts.Workers client-go workers, and prints the scheduled pods per second
// from the first create until every pod has a node (bindings included), and how evenly
// they spread.
func Scheduler(bin string, opts SchedulerOptions, out io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-sched-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	s := NewServer(bin, filepath.Join(root, "server"))
	if _, err := s.Start(); err != nil {
		return err
	}
	defer s.Stop()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	cs := s.Client(true)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: schedBenchNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}

	names := make([]string, opts.Nodes)
	for i := range names {
		names[i] = fmt.Sprintf("fake-node-%03d", i)
	}
	if err := registerFakeNodes(ctx, cs, names, opts.NodePods); err != nil {
		return err
	}
	go renewLeases(ctx, cs, names, 10*time.Second)

	// Count bindings from a watch opened before the first create.
	l, err := cs.CoreV1().Pods(schedBenchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	w, err := cs.CoreV1().Pods(schedBenchNamespace).Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		return err
	}
	defer w.Stop()
	allBound := make(chan time.Time, 1)
	go countBindings(w, opts.Pods, allBound)

	var profiling sync.WaitGroup
	defer profiling.Wait()
	if opts.Profile != "" {
		profiling.Add(1)
		go func() {
			defer profiling.Done()
			saveServerProfile(s, opts.ProfileFor, opts.Profile)
		}()
	}
	t0 := time.Now()
	created := parallel(opts.Pods, opts.Workers, func(i int) error {
		_, err := cs.CoreV1().Pods(schedBenchNamespace).Create(ctx, schedBenchPod(i), metav1.CreateOptions{})
		return err
	})
	createdIn := time.Since(t0)
	var done time.Time
	select {
	case done = <-allBound:
	case <-time.After(opts.Timeout):
		return fmt.Errorf("not every pod was bound within %s", opts.Timeout)
	}
	elapsed := done.Sub(t0)
	rate := float64(opts.Pods) / elapsed.Seconds()

	pods, err := cs.CoreV1().Pods(schedBenchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	perNode := map[string]int{}
	for _, pod := range pods.Items {
		perNode[pod.Spec.NodeName]++
	}
	lo, hi := opts.Pods, 0
	for _, n := range names {
		lo, hi = min(lo, perNode[n]), max(hi, perNode[n])
	}
	events, err := cs.CoreV1().Events(schedBenchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	scheduledEvents := 0
	for _, e := range events.Items {
		if e.Reason == "Scheduled" {
			scheduledEvents++
		}
	}
	p("pod creates, %d client-go workers (protobuf): %d in %s (%.0f/s)", opts.Workers, opts.Pods, round(createdIn), created)
	p("scheduled %d pods on %d nodes in %.2f s: %.0f pods/s (target >= 2000; kube-scheduler's CI thresholds are 680-1,100 pods/s on larger machines)",
		opts.Pods, opts.Nodes, elapsed.Seconds(), rate)
	p("last binding %s after the last create; spread: %d to %d pods per node (mean %d); Scheduled events written by then: %d (the rest queued or dropped, as upstream's recorder does under load)",
		round(elapsed-createdIn), lo, hi, opts.Pods/max(opts.Nodes, 1), scheduledEvents)
	return nil
}

// registerFakeNodes creates Ready nodes with the allocatable of a large machine and
// their Leases, as an agent would.
func registerFakeNodes(ctx context.Context, cs kubernetes.Interface, names []string, pods int) error {
	return runAll(len(names), 8, func(i int) error {
		name := names[i]
		now := metav1.Now()
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:              resource.MustParse("32"),
			corev1.ResourceMemory:           resource.MustParse("128Gi"),
			corev1.ResourceEphemeralStorage: resource.MustParse("500Gi"),
			corev1.ResourcePods:             *resource.NewQuantity(int64(pods), resource.DecimalSI),
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64", "type": "fake"}},
			Status: corev1.NodeStatus{
				Capacity: capacity, Allocatable: capacity,
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
					Message: "fake node is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.250.%d.%d", i/250, i%250+1)}},
			},
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: corev1.NamespaceNodeLease, Name: name},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To[int32](40),
				RenewTime: &metav1.MicroTime{Time: now.Time}},
		}
		if _, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("lease %s: %w", name, err)
		}
		return nil
	})
}

// renewLeases renews the nodes' Leases every period until ctx ends.
func renewLeases(ctx context.Context, cs kubernetes.Interface, names []string, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_ = runAll(len(names), 4, func(i int) error {
			leases := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
			l, err := leases.Get(ctx, names[i], metav1.GetOptions{})
			if err != nil {
				return err
			}
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
			return err
		})
	}
}

// runAll runs fn for 0..n-1 over workers goroutines and returns the first error.
func runAll(n, workers int, fn func(i int) error) error {
	var mu sync.Mutex
	var first error
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// countBindings sends the time when want distinct pods have been seen with a node.
func countBindings(w watch.Interface, want int, done chan<- time.Time) {
	bound := map[string]bool{}
	for ev := range w.ResultChan() {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" || bound[pod.Name] {
			continue
		}
		bound[pod.Name] = true
		if len(bound) == want {
			done <- time.Now()
			return
		}
	}
}

func schedBenchPod(i int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Labels: map[string]string{"app": "sched-bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}}}}},
	}
}

// saveServerProfile saves the server's CPU profile over d to path.
func saveServerProfile(s *Server, d time.Duration, path string) {
	tok, err := os.ReadFile(filepath.Join(s.DataDir, "tls", "admin.token"))
	if err != nil {
		return
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/profile?seconds=%d", s.Port, int(d.Seconds())), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: d + 30*time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}
