package dns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// t0 is the fake clock's start; the SOA serial is its Unix time.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// soaRR is the cluster zone's SOA as rendered by summary.
const soaRR = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1767225600 7200 1800 86400 5"

type harness struct {
	t     testing.TB
	srv   *Server
	clock *clocktesting.FakeClock
}

// newHarness returns a Server on informers holding objs, synced, forwarding to
// upstreams (none: every forwarded query fails). With start false the informers are
// never started.
func newHarness(t testing.TB, upstreams []string, start bool, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(t0)
	if upstreams == nil {
		upstreams = []string{}
	}
	srv, err := New(factory, Config{
		Upstreams:       upstreams,
		ResolvConf:      "/nonexistent",
		UpstreamTimeout: time.Second,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:           clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	if start {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(func() {
			cancel()
			factory.Shutdown()
		})
		factory.Start(ctx.Done())
		for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
			if !ok {
				t.Fatalf("informer for %v did not sync", typ)
			}
		}
	}
	return &harness{t: t, srv: srv, clock: clk}
}

// ask sends a query for name and qtype through the handler, as if over UDP without
// EDNS0 unless edns is set.
func (h *harness) ask(name string, qtype uint16, edns bool) *dns.Msg {
	h.t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	if edns {
		r.SetEdns0(4096, false)
	}
	w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
	h.srv.ServeDNS(w, r)
	if w.msg == nil {
		h.t.Fatalf("%s %s: no answer written", name, dns.TypeToString[qtype])
	}
	if w.msg.Id != r.Id || len(w.msg.Question) != 1 || w.msg.Question[0].Name != name {
		h.t.Fatalf("%s: answer for another question: %v", name, w.msg.Question)
	}
	return w.msg
}

// summary is an answer as text, records rendered one a line with single spaces,
// each section sorted.
type summary struct {
	Rcode  string
	Answer []string
	Ns     []string
	Extra  []string
}

func summarize(m *dns.Msg) summary {
	render := func(rrs []dns.RR) []string {
		var out []string
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			out = append(out, strings.Join(strings.Fields(rr.String()), " "))
		}
		slices.Sort(out)
		return out
	}
	return summary{Rcode: dns.RcodeToString[m.Rcode], Answer: render(m.Answer), Ns: render(m.Ns), Extra: render(m.Extra)}
}

func checkSummary(t *testing.T, got *dns.Msg, want summary) {
	t.Helper()
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

// recorder is a dns.ResponseWriter keeping the message written.
type recorder struct {
	remote net.Addr
	msg    *dns.Msg
}

func (w *recorder) LocalAddr() net.Addr       { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *recorder) RemoteAddr() net.Addr      { return w.remote }
func (w *recorder) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }
func (w *recorder) Write(b []byte) (int, error) {
	w.msg = new(dns.Msg)
	return len(b), w.msg.Unpack(b)
}
func (w *recorder) Close() error        { return nil }
func (w *recorder) TsigStatus() error   { return nil }
func (w *recorder) TsigTimersOnly(bool) {}
func (w *recorder) Hijack()             {}

// Fixtures.

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func service(name string, mutate func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP},
	}
	mutate(s)
	return s
}

func clusterIP(ips ...string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Spec.ClusterIP, s.Spec.ClusterIPs = ips[0], ips
	}
}

func port(name string, number int32, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: number, Protocol: proto}
}

// endpoint is a slice endpoint: its address, hostname ("" for none), and ready
// condition (nil for unknown).
func endpoint(addr, hostname string, ready *bool) discoveryv1.Endpoint {
	ep := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	if hostname != "" {
		ep.Hostname = ptr.To(hostname)
	}
	return ep
}

func slice(name, svc string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       ports,
		Endpoints:   eps,
	}
}

func slicePort(name string, number int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(number), Protocol: ptr.To(corev1.ProtocolTCP)}
}

// bigSlice has n ready endpoints 10.44.X.Y for headless Service "big".
func bigSlice(n int) *discoveryv1.EndpointSlice {
	var eps []discoveryv1.Endpoint
	for i := range n {
		eps = append(eps, endpoint(fmt.Sprintf("10.44.%d.%d", i/250, i%250+1), "", nil))
	}
	return slice("big-1", "big", nil, eps...)
}

// cluster is the objects most tests answer from.
func cluster() []runtime.Object {
	headless := clusterIP(corev1.ClusterIPNone)
	return []runtime.Object{
		namespace("ns"), namespace("default"),
		service("web", func(s *corev1.Service) {
			clusterIP("10.43.0.10")(s)
			s.Spec.Ports = []corev1.ServicePort{port("http", 80, corev1.ProtocolTCP), port("dns", 53, corev1.ProtocolUDP)}
		}),
		service("dual", func(s *corev1.Service) {
			clusterIP("10.43.0.11", "fd00::11")(s)
			s.Spec.Ports = []corev1.ServicePort{port("http", 80, corev1.ProtocolTCP)}
		}),
		service("db", func(s *corev1.Service) {
			headless(s)
			s.Spec.Ports = []corev1.ServicePort{port("pg", 5432, corev1.ProtocolTCP)}
		}),
		slice("db-1", "db", []discoveryv1.EndpointPort{slicePort("pg", 5432)},
			endpoint("10.42.0.5", "db-0", ptr.To(true)),
			endpoint("10.42.0.6", "db-1", nil),
			endpoint("10.42.0.7", "", ptr.To(true)),
			endpoint("10.42.0.8", "db-3", ptr.To(false)),
		),
		// A second slice repeating an address, as during an update.
		slice("db-2", "db", []discoveryv1.EndpointPort{slicePort("pg", 5432)},
			endpoint("10.42.0.5", "db-0", ptr.To(true)),
		),
		service("empty", headless),
		service("big", headless),
		bigSlice(100),
		service("ext", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "www.example.com"
		}),
		service("inner", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "web.ns.svc.cluster.local"
		}),
	}
}

// upstream is a fake resolver on 127.0.0.1 (UDP and TCP, one port) that answers from
// a table and counts the queries it receives by name and type.
type upstream struct {
	addr string

	mu      sync.Mutex // guards queries
	queries map[string]int
}

func newUpstream(t testing.TB, answer func(r *dns.Msg) *dns.Msg) *upstream {
	t.Helper()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{addr: pc.LocalAddr().String(), queries: map[string]int{}}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		u.mu.Lock()
		u.queries[strings.ToLower(q.Name)+" "+dns.TypeToString[q.Qtype]]++
		u.mu.Unlock()
		m := answer(r)
		rcode := m.Rcode
		m.SetReply(r)
		m.Rcode = rcode
		size := dns.MaxMsgSize
		if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
			size = dns.MinMsgSize
			if opt := r.IsEdns0(); opt != nil {
				size = int(opt.UDPSize())
			}
		}
		m.Truncate(size)
		_ = w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return u
}

// count returns how many queries for name and type (e.g. "example.com. A") arrived.
func (u *upstream) count(q string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.queries[q]
}

// deadUpstream returns a loopback UDP address nothing listens on: queries to it
// fail at once (ICMP port unreachable).
func deadUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close()
	return addr
}

// serve runs h's server on 127.0.0.1 (a free port) until the test ends and returns
// its address.
func (h *harness) serve() string {
	h.t.Helper()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	return h.serveOn(pc, ln)
}

func (h *harness) serveOn(pc net.PacketConn, ln net.Listener) string {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, pc, ln) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Serve: %v", err)
		}
	})
	return pc.LocalAddr().String()
}
