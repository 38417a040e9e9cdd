package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/netnstest"
	"github.com/podium/podium/internal/network"
)

// PodStartOptions size the pod start benchmark.
type PodStartOptions struct {
	Sequential int           // pods created one after another
	Burst      int           // pods created at once
	IdleWindow time.Duration // how long CPU is measured with the burst's pods running
	// Profile, when set, is where the agent's CPU profile over the first ProfileFor of
	// the burst is saved.
	Profile    string
	ProfileFor time.Duration
}

// PodStart measures how fast one agent runs pods: create to Running one after another
// (p50, p99) beside the raw floor of the same steps without podium (a network namespace,
// CNI ADD, runc run); the time until a burst of pods created at once all run; the memory
// each running pod adds to its shim and to the agent (PSS); and the CPU of the agent and
// the server while those pods idle.
func PodStart(bin, moduleRoot string, opts PodStartOptions, out io.Writer) (err error) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-podstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	n, err := startNode(bin, moduleRoot, root, opts.Burst)
	if err != nil {
		return err
	}
	defer n.stop()
	cs := n.server.Client(true)
	defer func() {
		if err != nil { // the pods go before the agent does, so that nothing is left
			_ = deleteAll(cs)
		}
	}()
	if err := waitNodeReady(cs, time.Minute); err != nil {
		return err
	}
	pod := func(name string) *corev1.Pod {
		grace := int64(1)
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{Name: "app", Image: "busybox", Command: []string{"sleep", "3600"}}}}}
	}
	running, stopWatch, err := watchRunning(cs)
	if err != nil {
		return err
	}
	defer stopWatch()

	// The image is pulled once before anything is timed.
	if _, err := cs.CoreV1().Pods("default").Create(bg, pod("warm"), metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := running.wait("warm", 2*time.Minute); err != nil {
		return err
	}
	var seq []time.Duration
	for i := range opts.Sequential {
		name := fmt.Sprintf("seq-%d", i)
		t0 := time.Now()
		if _, err := cs.CoreV1().Pods("default").Create(bg, pod(name), metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := running.wait(name, time.Minute); err != nil {
			return err
		}
		seq = append(seq, time.Since(t0))
	}
	if err := deleteAll(cs); err != nil {
		return err
	}
	floor, err := rawPodStarts(root, opts.Sequential)
	if err != nil {
		return fmt.Errorf("raw floor: %w", err)
	}
	p("create to Running, %d pods one after another: p50 %s p99 %s; raw floor (netns, CNI ADD, runc run): p50 %s p99 %s; p50 ratio %.2f",
		opts.Sequential, pct(seq, 50), pct(seq, 99), pct(floor, 50), pct(floor, 99), ratio(pctRaw(seq, 50), pctRaw(floor, 50)))
	burstFloor, err := rawBurst(root, opts.Burst)
	if err != nil {
		return fmt.Errorf("raw floor of the burst: %w", err)
	}

	agentBefore, _ := PSS(n.agent.Process.Pid)
	shimsBefore := shimPSS(n.dataDir)
	var profiled sync.WaitGroup
	if opts.Profile != "" {
		profiled.Go(func() { saveProfile(n.agentPort, n.token, opts.ProfileFor, opts.Profile) })
	}
	agentOwn0, agentKids0 := procCPUs(n.agent.Process.Pid)
	server0, machine0, shims0 := procCPU(n.server.PID()), machineCPU(), shimCPU(n.dataDir)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, opts.Burst)
	for i := range opts.Burst {
		wg.Go(func() {
			if _, err := cs.CoreV1().Pods("default").Create(bg, pod(fmt.Sprintf("burst-%d", i)), metav1.CreateOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for i := range opts.Burst {
		if err := running.wait(fmt.Sprintf("burst-%d", i), 5*time.Minute); err != nil {
			return err
		}
	}
	burst := time.Since(t0)
	agentOwn, agentKids := procCPUs(n.agent.Process.Pid)
	p("%d pods created at once: all Running after %s (target < 5s); raw floor (as many netns, CNI ADD, runc run at once): %s; ratio %.2f",
		opts.Burst, round(burst), round(burstFloor), ratio(burst, burstFloor))
	p("CPU over the burst: agent %s, the processes it ran and waited for (CNI plugins) %s, shims with their runc runs %s, server %s; the whole machine %s of %s available",
		round(agentOwn-agentOwn0), round(agentKids-agentKids0), round(shimCPU(n.dataDir)-shims0), round(procCPU(n.server.PID())-server0),
		round(machineCPU()-machine0), round(burst*time.Duration(goruntime.NumCPU())))
	profiled.Wait()

	time.Sleep(5 * time.Second) // let the burst's status writes and probes settle
	agentAfter, _ := PSS(n.agent.Process.Pid)
	shims := shimPSS(n.dataDir)
	p("memory each running pod adds (PSS): %.2f MB in its shim, %.2f MB in the agent",
		float64(shims-shimsBefore)/float64(opts.Burst)/(1<<20), float64(agentAfter-agentBefore)/float64(opts.Burst)/(1<<20))
	agentCPU, serverCPU := procCPU(n.agent.Process.Pid), procCPU(n.server.PID())
	wall := time.Now()
	time.Sleep(opts.IdleWindow)
	elapsed := time.Since(wall).Seconds()
	p("idle with %d pods over %s: agent %.1f%% of one core, server %.1f%%",
		opts.Burst, opts.IdleWindow, 100*(procCPU(n.agent.Process.Pid)-agentCPU).Seconds()/elapsed,
		100*(procCPU(n.server.PID())-serverCPU).Seconds()/elapsed)
	return deleteAll(cs)
}

// waitNodeReady waits for the benchmark node to be Ready.
func waitNodeReady(cs *kubernetes.Clientset, d time.Duration) error {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		node, err := cs.CoreV1().Nodes().Get(bg, "bench-node", metav1.GetOptions{})
		if err != nil {
			continue
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
	}
	return fmt.Errorf("node bench-node not Ready within %s", d)
}

// runningPods tells when pods reach phase Running, as a watch reports them.
type runningPods struct {
	mu      sync.Mutex
	changed *sync.Cond
	seen    map[string]bool
	ended   bool // the watch ended
}

// watchRunning watches the default namespace's pods until stop is called.
func watchRunning(cs *kubernetes.Clientset) (*runningPods, func(), error) {
	w, err := cs.CoreV1().Pods("default").Watch(bg, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	r := &runningPods{seen: map[string]bool{}}
	r.changed = sync.NewCond(&r.mu)
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || pod.Status.Phase != corev1.PodRunning {
				continue
			}
			r.mu.Lock()
			r.seen[pod.Name] = true
			r.changed.Broadcast()
			r.mu.Unlock()
		}
		r.mu.Lock()
		r.ended = true
		r.changed.Broadcast()
		r.mu.Unlock()
	}()
	return r, w.Stop, nil
}

// wait waits until the pod name has been seen Running, at most d.
func (r *runningPods) wait(name string, d time.Duration) error {
	timer := time.AfterFunc(d, func() {
		r.mu.Lock()
		r.changed.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	for !r.seen[name] {
		if r.ended {
			return fmt.Errorf("waiting for pod %s: the watch of pods ended", name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s not Running within %s", name, d)
		}
		r.changed.Wait()
	}
	return nil
}

// deleteAll deletes the default namespace's pods and waits until the agent has removed
// them.
func deleteAll(cs *kubernetes.Clientset) error {
	if err := cs.CoreV1().Pods("default").DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return err
	}
	waitGone(cs, 5*time.Minute)
	return nil
}

// PSS returns a process's proportional set size in bytes.
func PSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no Pss for %d", pid)
}

// shimPSS sums the PSS of the shims of the agent whose data directory is dataDir.
func shimPSS(dataDir string) int64 {
	var sum int64
	for _, pid := range shimPIDs(dataDir) {
		if pss, err := PSS(pid); err == nil {
			sum += pss
		}
	}
	return sum
}

// shimCPU returns the CPU time the node's shims have used, with the processes they ran
// and waited for (runc).
func shimCPU(dataDir string) time.Duration {
	var sum time.Duration
	for _, pid := range shimPIDs(dataDir) {
		own, children := procCPUs(pid)
		sum += own + children
	}
	return sum
}

// shimPIDs lists the shims of the node whose data directory is dataDir.
func shimPIDs(dataDir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(cmdline), "podium-shim") || !strings.Contains(string(cmdline), dataDir) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// rawFloor runs what a pod start costs without podium: a network namespace (ip netns
// add), CNI ADD with the same plugins on a bridge of its own, and runc run of a busybox
// sleep in that namespace.
type rawFloor struct {
	dir    string
	spec   specs.Spec
	nw     network.Network
	state  string // runc's root
	remove func() // removes the floor's network from the host
}

var floorNetwork = network.Config{PodCIDR: "10.244.175.0/24", ClusterCIDR: "10.244.175.0/24", BridgeName: "podiumfloor0"}

func newRawFloor(root string) (*rawFloor, error) {
	dir, err := os.MkdirTemp(root, "floor-")
	if err != nil {
		return nil, err
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return nil, err
		}
	}
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(rootfs, "bin", "busybox")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copying busybox: %v: %s", err, out)
	}
	if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("runc spec: %v: %s", err, out)
	}
	f := &rawFloor{dir: dir, state: filepath.Join(dir, "runc-state")}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &f.spec); err != nil {
		return nil, err
	}
	f.spec.Root.Path = rootfs
	f.spec.Process.Terminal = false
	f.spec.Process.Args = []string{"/bin/busybox", "sleep", "3600"}
	cfg := floorNetwork
	cfg.StateDir = filepath.Join(dir, "network")
	if f.nw, err = network.New(cfg); err != nil {
		return nil, err
	}
	f.remove = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = network.RemoveNodeNetwork(ctx, cfg)
	}
	return f, nil
}

// start runs pod i and returns how long that took and what undoes it.
func (f *rawFloor) start(i int) (time.Duration, func() error, error) {
	id, ns := fmt.Sprintf("floor-%d-%d", os.Getpid(), i), fmt.Sprintf("podium-floor-%d-%d", os.Getpid(), i)
	nsPath := "/var/run/netns/" + ns
	s := f.spec
	s.Linux = &specs.Linux{}
	*s.Linux = *f.spec.Linux
	s.Linux.Namespaces = nil
	for _, n := range f.spec.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			n.Path = nsPath
		}
		s.Linux.Namespaces = append(s.Linux.Namespaces, n)
	}
	bundle := filepath.Join(f.dir, "bundles", id)
	cfg, err := json.Marshal(&s)
	if err != nil {
		return 0, nil, err
	}
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		return 0, nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), cfg, 0o644); err != nil {
		return 0, nil, err
	}
	ctx := context.Background()
	t0 := time.Now()
	_, removeNetns, err := netnstest.Make(ns)
	if err != nil {
		return 0, nil, err
	}
	pod := network.Pod{ID: id, Namespace: "default", Name: id, UID: id}
	_, setupErr := f.nw.Setup(ctx, pod, nsPath, nil)
	var runErr error
	if setupErr == nil {
		// No pipes: the detached container would hold them open.
		logPath := filepath.Join(bundle, "runc.log")
		if runErr = exec.Command("runc", "--root", f.state, "--log", logPath, "run", "-d", "--bundle", bundle, id).Run(); runErr != nil {
			b, _ := os.ReadFile(logPath)
			runErr = fmt.Errorf("runc run: %v: %s", runErr, b)
		}
	}
	took := time.Since(t0)
	undo := func() error {
		_ = exec.Command("runc", "--root", f.state, "delete", "-f", id).Run()
		var downErr error
		if setupErr == nil {
			downErr = f.nw.Teardown(ctx, pod, nsPath, nil)
		}
		return errors.Join(downErr, removeNetns(), os.RemoveAll(bundle))
	}
	if err := errors.Join(setupErr, runErr); err != nil {
		return 0, nil, errors.Join(err, undo())
	}
	return took, undo, nil
}

// rawPodStarts times count raw pod starts one after another; each is torn down before
// the next.
func rawPodStarts(root string, count int) ([]time.Duration, error) {
	f, err := newRawFloor(root)
	if err != nil {
		return nil, err
	}
	defer f.remove()
	var out []time.Duration
	for i := range count {
		took, undo, err := f.start(i)
		if err != nil {
			return nil, err
		}
		if err := undo(); err != nil {
			return nil, err
		}
		out = append(out, took)
	}
	return out, nil
}

// rawBurst times count raw pod starts begun at once, until the last has started.
func rawBurst(root string, count int) (time.Duration, error) {
	f, err := newRawFloor(root)
	if err != nil {
		return 0, err
	}
	defer f.remove()
	undos := make([]func() error, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range count {
		wg.Go(func() { _, undos[i], errs[i] = f.start(i) })
	}
	wg.Wait()
	took := time.Since(t0)
	for _, undo := range undos {
		if undo != nil {
			errs = append(errs, undo())
		}
	}
	return took, errors.Join(errs...)
}
