package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/pki"
)

// WorkloadOptions size the workload benchmarks.
type WorkloadOptions struct {
	Nodes      int // fake nodes for the large Deployment
	Replicas   int // replicas of the large Deployment
	Rolling    int // replicas of the Deployment rolled on one real agent
	MemoryPods int // pods under ReplicaSets when the controllers' memory is read
	Timeout    time.Duration
}

const workloadNamespace = "workload-bench"

// Workloads prints the figures of the workload controllers: a large Deployment on fake
// nodes (create until every pod is bound, then background deletion until no pod is
// left) beside the raw etcd transaction rate measured in the same run, the heap the
// controllers hold with many pods under ReplicaSets, and a rolling update on one real
// agent beside the raw floor of starting as many pods.
func Workloads(bin, moduleRoot string, opts WorkloadOptions, out io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-workloads-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := fakeNodeWorkloads(bin, filepath.Join(root, "fake-nodes"), opts, p); err != nil {
		return err
	}
	return rollingUpdate(bin, moduleRoot, root, opts, p)
}

func fakeNodeWorkloads(bin, root string, opts WorkloadOptions, p func(string, ...any)) error {
	s := NewServer(bin, filepath.Join(root, "server"))
	if _, err := s.Start(); err != nil {
		return err
	}
	defer s.Stop()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	cs := s.Client(true)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: workloadNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	names := make([]string, opts.Nodes)
	for i := range names {
		names[i] = fmt.Sprintf("fake-node-%03d", i)
	}
	if err := registerFakeNodes(ctx, cs, names, 2*max(opts.Replicas, opts.MemoryPods)/max(opts.Nodes, 1)); err != nil {
		return err
	}
	go renewLeases(ctx, cs, names, 10*time.Second)
	go finishTerminating(ctx, cs)

	rawRate, err := rawTxnRate(s, 3*opts.Replicas, 16)
	if err != nil {
		return fmt.Errorf("raw etcd floor: %w", err)
	}
	floor := rawRate / 3
	p("raw etcd create txns, 16 workers, %d pod-sized keys: %.0f/s; floor of three writes a pod (create, bind, status): %.0f pods/s", 3*opts.Replicas, rawRate, floor)

	// Create to every pod bound.
	w, err := watchPods(ctx, cs)
	if err != nil {
		return err
	}
	allBound := make(chan time.Time, 1)
	go countBindings(w, opts.Replicas, allBound)
	t0 := time.Now()
	d := workloadDeployment("big", opts.Replicas, "registry.k8s.io/pause:3.10")
	if _, err := cs.AppsV1().Deployments(workloadNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		w.Stop()
		return err
	}
	var bound time.Time
	select {
	case bound = <-allBound:
	case <-time.After(opts.Timeout):
		w.Stop()
		return fmt.Errorf("not every pod of the Deployment was bound within %s", opts.Timeout)
	}
	w.Stop()
	elapsed := bound.Sub(t0)
	rate := float64(opts.Replicas) / elapsed.Seconds()
	p("Deployment of %d replicas on %d fake nodes: every pod bound %.2f s after the create: %.0f pods/s (%.2f of the etcd floor)",
		opts.Replicas, opts.Nodes, elapsed.Seconds(), rate, rate/floor)

	// Background deletion to no pod left.
	t0 = time.Now()
	if err := cs.AppsV1().Deployments(workloadNamespace).Delete(ctx, "big", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		return err
	}
	if err := waitNoPods(ctx, cs, opts.Timeout); err != nil {
		return err
	}
	gone := time.Since(t0)
	p("deleting it in the background: no pod left %.2f s after the delete: %.0f pods/s (pods deleted gracefully, each finished by a fake kubelet)",
		gone.Seconds(), float64(opts.Replicas)/gone.Seconds())

	// The controllers' heap with many pods under ReplicaSets.
	before, err := heapOf(s, controllerStacks)
	if err != nil {
		return err
	}
	w, err = watchPods(ctx, cs)
	if err != nil {
		return err
	}
	allBound = make(chan time.Time, 1)
	go countBindings(w, opts.MemoryPods, allBound)
	const sets = 10
	for i := range sets {
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("mem-%d", i)}, Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(int32(opts.MemoryPods / sets)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"set": fmt.Sprint(i)}},
			Template: workloadTemplate(map[string]string{"set": fmt.Sprint(i)}, "registry.k8s.io/pause:3.10"),
		}}
		if _, err := cs.AppsV1().ReplicaSets(workloadNamespace).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			w.Stop()
			return err
		}
	}
	select {
	case <-allBound:
	case <-time.After(opts.Timeout):
		w.Stop()
		return fmt.Errorf("not every pod of the ReplicaSets was bound within %s", opts.Timeout)
	}
	w.Stop()
	time.Sleep(3 * time.Second) // the last status writes reach the informers
	after, err := heapOf(s, controllerStacks)
	if err != nil {
		return err
	}
	rss, _ := RSS(s.PID())
	p("controllers and scheduler with %d pods under %d ReplicaSets: heap in use %.1f MB (%.1f MB with no pods; %.2f KB a pod); informer caches included; server RSS %.0f MB",
		opts.MemoryPods, sets, float64(after)/(1<<20), float64(before)/(1<<20), float64(after-before)/float64(opts.MemoryPods)/1024, float64(rss)/(1<<20))
	return nil
}

// controllerStacks picks the heap the controllers hold: what they allocate themselves
// and what the informers they share decode and keep, from lists and from watches (the
// server's only in-process client-go watchers are the controllers' and the scheduler's).
var controllerStacks = regexp.MustCompile(`podium/internal/(controller|scheduler)/|client-go/tools/cache\.|client-go/informers|apimachinery/pkg/watch\.\(\*StreamWatcher\)`)

// rollingUpdate rolls a Deployment on one real agent from one template to another and
// prints the time until the rollout is complete, beside the raw floor of starting as
// many pods at once.
func rollingUpdate(bin, moduleRoot, root string, opts WorkloadOptions, p func(string, ...any)) (err error) {
	n, err := startNode(bin, moduleRoot, root, opts.Rolling*2)
	if err != nil {
		return err
	}
	defer n.stop()
	cs := n.server.Client(true)
	if err := waitNodeReady(cs, time.Minute); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = cs.AppsV1().Deployments("default").Delete(bg, "roll", metav1.DeleteOptions{})
			waitGone(cs, 5*time.Minute)
		}
	}()
	d := workloadDeployment("roll", opts.Rolling, "busybox")
	d.Namespace = "default"
	d.Spec.Template.Spec.Containers[0].Command = []string{"sleep", "3600"}
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	if _, err := cs.AppsV1().Deployments("default").Create(bg, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := waitRolledOut(cs, "default", "roll", opts.Timeout); err != nil {
		return err
	}
	t0 := time.Now()
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"bench/rev":"%d"}}}}}`, t0.UnixNano())
	if _, err := cs.AppsV1().Deployments("default").Patch(bg, "roll", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return err
	}
	if _, err := waitRolledOut(cs, "default", "roll", opts.Timeout); err != nil {
		return err
	}
	rolled := time.Since(t0)
	if err := cs.AppsV1().Deployments("default").Delete(bg, "roll", metav1.DeleteOptions{}); err != nil {
		return err
	}
	waitGone(cs, 5*time.Minute)
	floor, err := rawBurst(root, opts.Rolling)
	if err != nil {
		return fmt.Errorf("raw floor: %w", err)
	}
	p("rolling update of a %d-replica Deployment on one agent (maxSurge 25%%, maxUnavailable 25%%): complete after %.1f s; raw floor of starting %d pods at once (netns, CNI ADD, runc run): %.1f s; ratio %.2f",
		opts.Rolling, rolled.Seconds(), opts.Rolling, floor.Seconds(), ratio(rolled, floor))
	return nil
}

func workloadTemplate(labels map[string]string, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: image, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("1Mi")}}}}}}
}

func workloadDeployment(name string, replicas int, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(replicas)),
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: workloadTemplate(labels, image),
	}}
}

// waitRolledOut waits until the Deployment's newest template is on every replica and
// every replica is available, as `kubectl rollout status` does.
func waitRolledOut(cs kubernetes.Interface, ns, name string, timeout time.Duration) (*appsv1.Deployment, error) {
	ctx, cancel := context.WithTimeout(bg, timeout)
	defer cancel()
	w, err := cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok {
			continue
		}
		want := ptr.Deref(d.Spec.Replicas, 1)
		st := d.Status
		if st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want {
			return d, nil
		}
	}
	return nil, fmt.Errorf("deployment %s/%s not rolled out within %s", ns, name, timeout)
}

// watchPods watches the benchmark namespace's pods from now on.
func watchPods(ctx context.Context, cs kubernetes.Interface) (watch.Interface, error) {
	l, err := cs.CoreV1().Pods(workloadNamespace).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	return cs.CoreV1().Pods(workloadNamespace).Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
}

// finishTerminating plays the kubelet of the fake nodes for pods being deleted: it
// removes each at once, as an agent does once the containers have stopped.
func finishTerminating(ctx context.Context, cs kubernetes.Interface) {
	w, err := watchPods(ctx, cs)
	if err != nil {
		return
	}
	defer w.Stop()
	work := make(chan *corev1.Pod, 1024)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(work)
	for range 8 {
		wg.Go(func() {
			for pod := range work {
				_ = cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
					GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(pod.UID))})
			}
		})
	}
	for ev := range w.ResultChan() {
		if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Modified && pod.DeletionTimestamp != nil {
			work <- pod
		}
	}
}

// waitNoPods waits until the benchmark namespace has no pod.
func waitNoPods(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		l, err := cs.CoreV1().Pods(workloadNamespace).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(l.Items) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pods left %s after the delete", timeout)
}

// rawTxnRate creates n pod-sized keys in etcd with conditional transactions, as the
// API server does, from workers goroutines, and returns the rate.
func rawTxnRate(s *Server, n, workers int) (float64, error) {
	tlsCfg, err := etcd.ClientTLS(pki.Files{Dir: s.DataDir}.Etcd())
	if err != nil {
		return 0, err
	}
	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", s.EtcdPort)}, TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return 0, err
	}
	defer ec.Close()
	value := strings.Repeat("x", 1200) // a protobuf pod of a Deployment, as stored
	rate := parallel(n, workers, func(i int) error {
		key := fmt.Sprintf("/bench/raw/pod-%d", i)
		_, err := ec.Txn(bg).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, value)).Commit()
		return err
	})
	_, err = ec.Delete(bg, "/bench/raw/", clientv3.WithPrefix())
	return rate, err
}

// heapOf returns the bytes in use in the server's heap, after a collection, allocated
// under stacks matching re.
func heapOf(s *Server, re *regexp.Regexp) (int64, error) {
	tok, err := os.ReadFile(filepath.Join(s.DataDir, "tls", "admin.token"))
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/heap?gc=1", s.Port), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("heap profile: %s", resp.Status)
	}
	prof, err := profile.Parse(resp.Body)
	if err != nil {
		return 0, err
	}
	idx := -1
	for i, st := range prof.SampleType {
		if st.Type == "inuse_space" {
			idx = i
		}
	}
	if idx < 0 {
		return 0, fmt.Errorf("heap profile without inuse_space")
	}
	var sum int64
	for _, sample := range prof.Sample {
		if stackMatches(sample, re) {
			sum += sample.Value[idx]
		}
	}
	return sum, nil
}

func stackMatches(s *profile.Sample, re *regexp.Regexp) bool {
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil && re.MatchString(line.Function.Name) {
				return true
			}
		}
	}
	return false
}
