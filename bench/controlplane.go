package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/pki"
)

// ControlPlaneOptions size the control-plane benchmark.
type ControlPlaneOptions struct {
	Starts   int           // server starts measured, fresh and existing each
	IdleWait time.Duration // how long the server idles before its RSS is read
	Pods     int           // pods created (per encoding) and listed
	Workers  int           // concurrent creators
	Watchers int           // watchers of the fan-out figure
	Events   int           // events of the fan-out figure
}

// ControlPlane runs the control-plane benchmarks of the podium binary in bin and prints
// their figures to out.
func ControlPlane(bin string, opts ControlPlaneOptions, out io.Writer) error {
	root, err := os.MkdirTemp("", "podium-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	// Start to /readyz, fresh and existing data directory; embedded etcd alone as the floor.
	var fresh, again, floor []time.Duration
	for i := 0; i < opts.Starts; i++ {
		s := NewServer(bin, filepath.Join(root, fmt.Sprintf("start-%d", i)))
		d, err := s.Start()
		if err != nil {
			return err
		}
		fresh = append(fresh, d)
		s.Stop()
		if d, err = s.Start(); err != nil {
			return err
		}
		again = append(again, d)
		s.Stop()
		t0 := time.Now()
		e, err := etcd.Start(bg, etcd.Config{DataDir: filepath.Join(root, fmt.Sprintf("etcd-%d", i)), ClientPort: freePort(), PeerPort: freePort()})
		if err != nil {
			return err
		}
		floor = append(floor, time.Since(t0))
		e.Close()
	}
	p("start to /readyz, fresh data dir:    %s  (embedded etcd alone: %s, ratio %.2f)", stats(fresh), stats(floor), ratio(median(fresh), median(floor)))
	p("start to /readyz, existing data dir: %s", stats(again))

	s := NewServer(bin, filepath.Join(root, "main"))
	if _, err := s.Start(); err != nil {
		return err
	}
	time.Sleep(opts.IdleWait)
	rss, err := RSS(s.PID())
	if err != nil {
		s.Stop()
		return err
	}
	p("idle RSS of podium server --disable-agent after %s: %.1f MiB (target < 100 MiB)", opts.IdleWait, float64(rss)/(1<<20))
	// The load figures measure the API server alone: with no node, the scheduler would
	// write a FailedScheduling event for every pod the benchmark creates.
	s.Stop()
	s.Args = []string{"--disable-scheduler"}
	if _, err := s.Start(); err != nil {
		return err
	}
	defer s.Stop()

	jsonCS, pbCS := s.Client(false), s.Client(true)
	for _, ns := range []string{"bench-json", "bench-pb", "fanout"} {
		if _, err := jsonCS.CoreV1().Namespaces().Create(bg, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}

	// Creates: raw etcd transactions of the same bytes, then podium with both encodings.
	tlsCfg, err := etcd.ClientTLS(pki.Files{Dir: s.DataDir}.Etcd())
	if err != nil {
		return err
	}
	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", s.EtcdPort)}, TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer ec.Close()
	sample, err := jsonCS.CoreV1().Pods("fanout").Create(bg, benchPod("sample"), metav1.CreateOptions{})
	if err != nil {
		return err
	}
	stored, err := ec.Get(bg, "/registry/pods/fanout/"+sample.Name)
	if err != nil || len(stored.Kvs) == 0 {
		return fmt.Errorf("reading a stored pod: %v", err)
	}
	value := string(stored.Kvs[0].Value)
	rawRate := parallel(opts.Pods, opts.Workers, func(i int) error {
		key := fmt.Sprintf("/bench/raw/pod-%d", i)
		_, err := ec.Txn(bg).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, value)).Commit()
		return err
	})
	if _, err := ec.Delete(bg, "/bench/raw/", clientv3.WithPrefix()); err != nil {
		return err
	}
	create := func(cs *kubernetes.Clientset, ns string) float64 {
		return parallel(opts.Pods, opts.Workers, func(i int) error {
			_, err := cs.CoreV1().Pods(ns).Create(bg, benchPod(fmt.Sprintf("pod-%d", i)), metav1.CreateOptions{})
			return err
		})
	}
	jsonRate := create(jsonCS, "bench-json")
	pbRate := create(pbCS, "bench-pb")
	p("raw etcd create txns, %d workers, %d keys (%d-byte pods): %.0f/s", opts.Workers, opts.Pods, len(value), rawRate)
	p("pod creates, %d client-go workers, %d pods, JSON:     %.0f/s (%.2f of raw etcd; target >= 0.5)", opts.Workers, opts.Pods, jsonRate, jsonRate/rawRate)
	p("pod creates, %d client-go workers, %d pods, protobuf: %.0f/s (%.2f of raw etcd)", opts.Workers, opts.Pods, pbRate, pbRate/rawRate)

	// LIST of all pods of a namespace; raw etcd range read of the same keys as the floor.
	var listJSON, listPB, listRaw []time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		l, err := jsonCS.CoreV1().Pods("bench-json").List(bg, metav1.ListOptions{})
		if err != nil || len(l.Items) != opts.Pods {
			return fmt.Errorf("list: %v (%d items)", err, len(l.Items))
		}
		listJSON = append(listJSON, time.Since(t0))
		t0 = time.Now()
		if _, err := pbCS.CoreV1().Pods("bench-json").List(bg, metav1.ListOptions{}); err != nil {
			return err
		}
		listPB = append(listPB, time.Since(t0))
		t0 = time.Now()
		if _, err := ec.Get(bg, "/registry/pods/bench-json/", clientv3.WithPrefix()); err != nil {
			return err
		}
		listRaw = append(listRaw, time.Since(t0))
	}
	p("LIST of %d pods, JSON:     %s (raw etcd range read: %s, ratio %.1f)", opts.Pods, stats(listJSON), stats(listRaw), ratio(median(listJSON), median(listRaw)))
	p("LIST of %d pods, protobuf: %s", opts.Pods, stats(listPB))

	all, each, err := fanOut(s, opts.Watchers, opts.Events)
	if err != nil {
		return err
	}
	rawAll, err := rawFanOut(ec, opts.Watchers, opts.Events)
	if err != nil {
		return err
	}
	p("watch fan-out, %d watchers, %d events: all watchers saw the event in p50 %s, p99 %s (one watcher: p99 %s); raw etcd watchers: p50 %s, p99 %s",
		opts.Watchers, opts.Events, pct(all, 50), pct(all, 99), pct(each, 99), pct(rawAll, 50), pct(rawAll, 99))
	return nil
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"run": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
	}
}

// parallel runs n calls of fn over workers goroutines and returns calls per second. It
// panics on the first error: a benchmark with failures has no figure.
func parallel(n, workers int, fn func(i int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		panic(err)
	}
	return float64(n) / time.Since(t0).Seconds()
}

// fanOut opens watchers on one namespace's pods, creates events pods one at a time, and
// returns for each event the time until every watcher saw it, and every single
// watcher's latency.
func fanOut(s *Server, watchers, events int) (all, each []time.Duration, err error) {
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var clients []*kubernetes.Clientset
	for i := 0; i < 10; i++ {
		clients = append(clients, s.Client(true))
	}
	l, err := clients[0].CoreV1().Pods("fanout").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	seen := make(chan time.Time, watchers*events)
	for i := 0; i < watchers; i++ {
		w, err := clients[i%len(clients)].CoreV1().Pods("fanout").Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
		if err != nil {
			return nil, nil, err
		}
		go func(w watch.Interface) {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added {
					seen <- time.Now()
				}
			}
		}(w)
	}
	for e := 0; e < events; e++ {
		t0 := time.Now()
		if _, err := clients[0].CoreV1().Pods("fanout").Create(ctx, benchPod(fmt.Sprintf("fan-%d", e)), metav1.CreateOptions{}); err != nil {
			return nil, nil, err
		}
		var last time.Duration
		for i := 0; i < watchers; i++ {
			select {
			case at := <-seen:
				d := at.Sub(t0)
				each = append(each, d)
				if d > last {
					last = d
				}
			case <-time.After(30 * time.Second):
				return nil, nil, fmt.Errorf("event %d: only %d of %d watchers saw it", e, i, watchers)
			}
		}
		all = append(all, last)
	}
	return all, each, nil
}

// rawFanOut is fanOut with etcd watchers on a key prefix, the floor podium stands on.
func rawFanOut(ec *clientv3.Client, watchers, events int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	seen := make(chan time.Time, watchers*events)
	for i := 0; i < watchers; i++ {
		wch := ec.Watch(clientv3.WithRequireLeader(ctx), "/bench/fan/", clientv3.WithPrefix())
		go func() {
			for resp := range wch {
				for range resp.Events {
					seen <- time.Now()
				}
			}
		}()
	}
	// Each etcd watcher is registered once its stream is up; a first put proves it.
	if _, err := ec.Put(ctx, "/bench/fan/warmup", "x"); err != nil {
		return nil, err
	}
	for i := 0; i < watchers; i++ {
		<-seen
	}
	var all []time.Duration
	for e := 0; e < events; e++ {
		t0 := time.Now()
		if _, err := ec.Put(ctx, fmt.Sprintf("/bench/fan/%d", e), "x"); err != nil {
			return nil, err
		}
		var last time.Duration
		for i := 0; i < watchers; i++ {
			if d := (<-seen).Sub(t0); d > last {
				last = d
			}
		}
		all = append(all, last)
	}
	_, err := ec.Delete(ctx, "/bench/fan/", clientv3.WithPrefix())
	return all, err
}

func median(ds []time.Duration) time.Duration { return pctRaw(ds, 50) }

func pctRaw(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func pct(ds []time.Duration, p int) string { return round(pctRaw(ds, p)).String() }

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// stats prints min/median/max.
func stats(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return fmt.Sprintf("min %s median %s max %s", round(s[0]), round(median(s)), round(s[len(s)-1]))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
