package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// exchange asks addr over network ("udp" or "tcp").
func exchange(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	m, _, err := c.Exchange(r, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return m
}

// TestServe answers over UDP and TCP on loopback.
func TestServe(t *testing.T) {
	up := newUpstream(t, world)
	h := newHarness(t, []string{up.addr}, true, cluster()...)
	addr := h.serve()
	for _, network := range []string{"udp", "tcp"} {
		checkSummary(t, exchange(t, network, addr, "web.ns.svc.cluster.local.", dns.TypeA), summary{Rcode: "NOERROR",
			Answer: []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}})
		checkSummary(t, exchange(t, network, addr, "example.com.", dns.TypeA), summary{Rcode: "NOERROR",
			Answer: []string{"example.com. 60 IN A 192.0.2.1"}})
	}
}

// TestServeTruncated: a headless Service too big for UDP comes truncated with TC, and
// whole over TCP.
func TestServeTruncated(t *testing.T) {
	h := newHarness(t, nil, true, cluster()...)
	addr := h.serve()
	m := exchange(t, "udp", addr, "big.ns.svc.cluster.local.", dns.TypeA)
	if !m.Truncated || len(m.Answer) >= 100 {
		t.Fatalf("UDP: TC %v with %d records", m.Truncated, len(m.Answer))
	}
	m = exchange(t, "tcp", addr, "big.ns.svc.cluster.local.", dns.TypeA)
	if m.Truncated || len(m.Answer) != 100 {
		t.Fatalf("TCP: TC %v with %d records, want 100", m.Truncated, len(m.Answer))
	}
}

// TestServeMalformed: garbage is dropped or answered FORMERR, and the server goes on.
func TestServeMalformed(t *testing.T) {
	h := newHarness(t, nil, true, cluster()...)
	addr := h.serve()

	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, junk := range [][]byte{
		{0x01, 0x02, 0x03}, // shorter than a header: dropped
		[]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), // a response: ignored
	} {
		if _, err := conn.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	// A query header announcing a question that is not there: FORMERR.
	header := []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 'e', 'x'}
	if _, err := conn.Write(header); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if m.Id != 0x1234 || m.Rcode != dns.RcodeFormatError {
		t.Errorf("answer id %#x rcode %s, want 0x1234 FORMERR", m.Id, dns.RcodeToString[m.Rcode])
	}

	// Over TCP: a message shorter than its length prefix, then the connection closed.
	tc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = tc.Write(binary.BigEndian.AppendUint16(nil, 300))
	_, _ = tc.Write([]byte("junk"))
	_ = tc.Close()

	checkSummary(t, exchange(t, "udp", addr, "web.ns.svc.cluster.local.", dns.TypeA), summary{Rcode: "NOERROR",
		Answer: []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}})
	checkSummary(t, exchange(t, "tcp", addr, "web.ns.svc.cluster.local.", dns.TypeA), summary{Rcode: "NOERROR",
		Answer: []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}})
}

// TestServeTCPCap holds a second TCP client until the first one's connection closes.
func TestServeTCPCap(t *testing.T) {
	h := newHarness(t, nil, true, cluster()...)
	h.srv.maxConn = 1
	addr := h.serve()

	first, err := dns.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	q := new(dns.Msg)
	q.SetQuestion("web.ns.svc.cluster.local.", dns.TypeA)
	if err := first.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	if _, err := first.ReadMsg(); err != nil {
		t.Fatal(err)
	}

	second, err := dns.Dial("tcp", addr) // completes in the kernel's backlog
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	_ = second.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := second.ReadMsg(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second connection answered while the first is open: %v", err)
	}

	_ = first.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := second.ReadMsg()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Answer) != 1 {
		t.Errorf("answer %v", m.Answer)
	}
}

// TestServeNotToItself drops an upstream that is the server's own address.
func TestServeNotToItself(t *testing.T) {
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	srv, err := New(factory, Config{
		Upstreams: []string{pc.LocalAddr().String()},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv}
	addr := h.serveOn(pc, ln)
	checkSummary(t, exchange(t, "udp", addr, "example.com.", dns.TypeA), summary{Rcode: "SERVFAIL"})
}
