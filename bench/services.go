package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	poddns "github.com/podium/podium/internal/dns"
	"github.com/podium/podium/internal/netnstest"
	"github.com/podium/podium/internal/proxy"
)

// ServiceOptions sizes the service dataplane benchmark.
type ServiceOptions struct {
	Services  int // Services, each with one port
	Endpoints int // endpoints of each
	Changes   int // endpoint readiness changes timed one after another
}

// Services measures the node's service dataplane as kube-proxy's SLI does: with
// opts.Services Services of opts.Endpoints endpoints each, the time from an endpoint's
// readiness changing in its EndpointSlice to the rule being in the kernel (p50, p99),
// and the time of one full write of the table. The proxy programs a network namespace
// of the benchmark's own; the floor is the nft tool writing one element there.
func Services(opts ServiceOptions, out io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	b := make([]byte, 3)
	_, _ = crand.Read(b)
	ns := "podium-bench-svc-" + hex.EncodeToString(b)
	nsPath, removeNetns, err := netnstest.Make(ns)
	if err != nil {
		return err
	}
	defer func() { _ = removeNetns() }()

	client := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range opts.Services {
		svc, slice := benchService(i, opts.Endpoints)
		if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	type sync struct{ start, end time.Time }
	synced := make(chan sync, 1024)
	factory := informers.NewSharedInformerFactory(client, 0)
	px, err := inNetns(nsPath, func() (*proxy.Proxy, error) {
		nft, err := knftables.New(knftables.IPv4Family, "podium")
		if err != nil {
			return nil, err
		}
		return proxy.New(factory, proxy.Config{NodeName: "bench-node", ClusterCIDR: "10.42.0.0/16", NFT: nft,
			Logger: slog.New(slog.DiscardHandler), Synced: func(s, e time.Time) { synced <- sync{s, e} }})
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// nft runs as a child of this thread, in the benchmark's namespace.
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := setns(nsPath); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return
		}
		px.Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	first := <-synced
	full := first.end.Sub(first.start)
	rules, _ := inNetns(nsPath, func() (int, error) {
		out, err := exec.Command("nft", "list", "table", "ip", "podium").Output()
		return strings.Count(string(out), "\n"), err
	})
	p("table: %d Services x %d endpoints, %d lines in `nft list table`", opts.Services, opts.Endpoints, rules)
	p("full write of the table: %s", full.Round(time.Millisecond))

	var lat []time.Duration
	for range opts.Changes {
		i, j := rand.IntN(opts.Services), rand.IntN(opts.Endpoints)
		name := fmt.Sprintf("svc-%d", i)
		s, err := client.DiscoveryV1().EndpointSlices("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := s.Endpoints[j].Conditions.Ready
		s.Endpoints[j].Conditions.Ready = ptr.To(!*ready)
		t0 := time.Now()
		if _, err := client.DiscoveryV1().EndpointSlices("default").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			return err
		}
		for {
			sy := <-synced
			if sy.start.After(t0) {
				lat = append(lat, sy.end.Sub(t0))
				break
			}
		}
	}
	floor, err := rawElementWrites(nsPath, opts.Changes)
	if err != nil {
		return err
	}
	p50, p99 := pctRaw(lat, 50), pctRaw(lat, 99)
	f50 := pctRaw(floor, 50)
	p("endpoint change to rule in the kernel (%d changes): p50 %s, p99 %s; floor (nft writing one element): p50 %s; ratio p50 %.2f",
		len(lat), p50.Round(time.Microsecond), p99.Round(time.Microsecond), f50.Round(time.Microsecond), float64(p50)/float64(f50))
	return nil
}

// benchService is Service svc-I on cluster IP 10.96.X.Y with its slice of n endpoints
// (pod IPs 10.42.X.Y), all ready.
func benchService(i, n int) (*corev1.Service, *discoveryv1.EndpointSlice) {
	name := fmt.Sprintf("svc-%d", i)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}}}
	for j := range n {
		k := i*n + j
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.42.%d.%d", k/250, k%250+1)},
			NodeName: ptr.To("bench-node"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return svc, slice
}

// rawElementWrites times the nft tool adding one element to a table in the namespace,
// n times: the least a rule change costs.
func rawElementWrites(nsPath string, n int) ([]time.Duration, error) {
	return inNetns(nsPath, func() ([]time.Duration, error) {
		run := func(script string) error {
			cmd := exec.Command("nft", "-f", "-")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("nft: %v: %s", err, out)
			}
			return nil
		}
		if err := run("add table ip podium-floor\nadd set ip podium-floor s { type ipv4_addr ; }\n"); err != nil {
			return nil, err
		}
		defer func() { _ = run("delete table ip podium-floor\n") }()
		var took []time.Duration
		for i := range n {
			t0 := time.Now()
			if err := run(fmt.Sprintf("add element ip podium-floor s { 10.99.%d.%d }\n", i/250, i%250+1)); err != nil {
				return nil, err
			}
			took = append(took, time.Since(t0))
		}
		return took, nil
	})
}

// inNetns runs f on a thread of its own that is in the namespace at nsPath, so that
// what f executes runs there too; the thread is not reused.
func inNetns[T any](nsPath string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := setns(nsPath); err != nil {
			ch <- result{err: err}
			return
		}
		v, err := f()
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

func setns(nsPath string) error {
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setns(fd, unix.CLONE_NEWNET)
}

// DNSOptions sizes the cluster DNS benchmark.
type DNSOptions struct {
	Services int           // Services the zone holds
	Clients  int           // clients querying at once
	Duration time.Duration // how long they query
}

// ClusterDNS measures the cluster DNS server answering A queries for Service names
// over UDP on loopback, with opts.Clients clients for opts.Duration: queries per second
// and latency p50/p99. The floor is a DNS server on loopback that answers every query
// with one fixed record, measured the same way in the same run.
func ClusterDNS(opts DNSOptions, out io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range opts.Services {
		svc, slice := benchService(i, 1)
		if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	srv, err := poddns.New(factory, poddns.Config{Upstreams: []string{"127.0.0.1:9"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	pc, ln, err := poddns.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(ctx, pc, ln) }()
	cluster := queryLoad(pc.LocalAddr().String(), opts, func(i int) string {
		return fmt.Sprintf("svc-%d.default.svc.cluster.local.", i%opts.Services)
	}, nil, false)

	floorConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	floor := &dns.Server{PacketConn: floorConn, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(10, 96, 0, 1)}}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = floor.ActivateAndServe() }()
	defer func() { _ = floor.Shutdown() }()
	raw := queryLoad(floorConn.LocalAddr().String(), opts, func(i int) string { return fmt.Sprintf("svc-%d.example.", i) }, nil, false)

	p("cluster DNS, %d Services, %d clients for %s: %.0f queries/s, p50 %s, p99 %s (%d failed)", opts.Services, opts.Clients, opts.Duration,
		cluster.qps, cluster.p50.Round(time.Microsecond), cluster.p99.Round(time.Microsecond), cluster.failed)
	p("floor (a server answering one fixed record): %.0f queries/s, p50 %s, p99 %s; ratio of rates %.2f", raw.qps,
		raw.p50.Round(time.Microsecond), raw.p99.Round(time.Microsecond), cluster.qps/raw.qps)
	return nil
}

type loadResult struct {
	qps      float64
	p50, p99 time.Duration
	failed   int
}

// queryLoad sends A queries for name(i) to addr from opts.Clients clients, each waiting
// for its answer before the next, for opts.Duration. Each client first runs enter, when
// set, on a thread of its own. An answer counts when it has records, or with anyAnswer
// when it comes at all.
func queryLoad(addr string, opts DNSOptions, name func(i int) string, enter func() error, anyAnswer bool) loadResult {
	type clientResult struct {
		lat    []time.Duration
		failed int
	}
	results := make(chan clientResult, opts.Clients)
	deadline := time.Now().Add(opts.Duration)
	for c := range opts.Clients {
		go func() {
			var r clientResult
			cl, err := dnsClient(enter)
			if err != nil {
				r.failed++
				results <- r
				return
			}
			for i := c; time.Now().Before(deadline); i += opts.Clients {
				m := new(dns.Msg)
				m.SetQuestion(name(i), dns.TypeA)
				t0 := time.Now()
				resp, _, err := cl.Exchange(m, addr)
				if err != nil || !anyAnswer && (resp.Rcode != dns.RcodeSuccess || len(resp.Answer) == 0) {
					r.failed++
					continue
				}
				r.lat = append(r.lat, time.Since(t0))
			}
			results <- r
		}()
	}
	var all []time.Duration
	failed := 0
	for range opts.Clients {
		r := <-results
		all = append(all, r.lat...)
		failed += r.failed
	}
	return loadResult{qps: float64(len(all)) / opts.Duration.Seconds(), p50: pctRaw(all, 50), p99: pctRaw(all, 99), failed: failed}
}
