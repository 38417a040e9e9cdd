package dns

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// world answers like an Internet resolver for a few names.
func world(r *dns.Msg) *dns.Msg {
	q := r.Question[0]
	m := new(dns.Msg)
	rr := func(s string) dns.RR {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return rr
	}
	soa := rr("example. 300 IN SOA ns.example. admin.example. 1 7200 1800 86400 60")
	switch name := strings.ToLower(q.Name); {
	case name == "example.com." && q.Qtype == dns.TypeA:
		m.Answer = []dns.RR{rr("example.com. 60 IN A 192.0.2.1")}
	case name == "www.example.com." && q.Qtype == dns.TypeA:
		m.Answer = []dns.RR{rr("www.example.com. 300 IN A 192.0.2.53")}
	case name == "nodata.example." || name == "example.com.":
		m.Ns = []dns.RR{rr("example. 300 IN SOA ns.example. admin.example. 1 7200 1800 86400 10")}
	case name == "big.example.":
		for i := range 60 {
			m.Answer = append(m.Answer, rr("big.example. 60 IN TXT \"record "+strings.Repeat("x", 20)+string(rune('a'+i%26))+"\""))
		}
	case name == "8.0.42.10.in-addr.arpa.":
		m.Answer = []dns.RR{rr("8.0.42.10.in-addr.arpa. 60 IN PTR elsewhere.example.")}
	default:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{soa}
	}
	return m
}

func refuse(*dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.Rcode = dns.RcodeRefused
	return m
}

// TestForwarding answers names outside the cluster from upstream, caching answers for
// their TTL and negative answers for their SOA minimum (at most 30 seconds).
func TestForwarding(t *testing.T) {
	up := newUpstream(t, world)
	h := newHarness(t, []string{up.addr}, true, cluster()...)

	checkSummary(t, h.ask("Example.COM.", dns.TypeA, false), summary{Rcode: "NOERROR",
		Answer: []string{"Example.COM. 60 IN A 192.0.2.1"}})
	h.clock.Step(20 * time.Second)
	m := h.ask("example.com.", dns.TypeA, true)
	checkSummary(t, m, summary{Rcode: "NOERROR", Answer: []string{"example.com. 40 IN A 192.0.2.1"}})
	if m.Authoritative || !m.RecursionAvailable || m.IsEdns0() == nil {
		t.Errorf("aa %v ra %v opt %v", m.Authoritative, m.RecursionAvailable, m.IsEdns0())
	}
	if n := up.count("example.com. A"); n != 1 {
		t.Errorf("upstream asked %d times within the TTL, want 1", n)
	}
	h.clock.Step(40 * time.Second)
	h.ask("example.com.", dns.TypeA, false)
	if n := up.count("example.com. A"); n != 2 {
		t.Errorf("upstream asked %d times after the TTL, want 2", n)
	}

	// NXDOMAIN: SOA minimum 60, cached 30 s.
	nx := summary{Rcode: "NXDOMAIN", Ns: []string{"example. 300 IN SOA ns.example. admin.example. 1 7200 1800 86400 60"}}
	checkSummary(t, h.ask("missing.example.", dns.TypeA, false), nx)
	h.clock.Step(29 * time.Second)
	nx.Ns = []string{"example. 271 IN SOA ns.example. admin.example. 1 7200 1800 86400 60"}
	checkSummary(t, h.ask("missing.example.", dns.TypeA, false), nx)
	if n := up.count("missing.example. A"); n != 1 {
		t.Errorf("NXDOMAIN asked %d times, want 1", n)
	}
	h.clock.Step(time.Second)
	h.ask("missing.example.", dns.TypeA, false)
	if n := up.count("missing.example. A"); n != 2 {
		t.Errorf("NXDOMAIN asked %d times after 30s, want 2", n)
	}

	// NODATA: SOA minimum 10.
	checkSummary(t, h.ask("example.com.", dns.TypeAAAA, false), summary{Rcode: "NOERROR",
		Ns: []string{"example. 300 IN SOA ns.example. admin.example. 1 7200 1800 86400 10"}})
	h.clock.Step(9 * time.Second)
	h.ask("example.com.", dns.TypeAAAA, false)
	if n := up.count("example.com. AAAA"); n != 1 {
		t.Errorf("NODATA asked %d times, want 1", n)
	}
	h.clock.Step(time.Second)
	h.ask("example.com.", dns.TypeAAAA, false)
	if n := up.count("example.com. AAAA"); n != 2 {
		t.Errorf("NODATA asked %d times after its minimum, want 2", n)
	}

	// Reverse names of no cluster address.
	checkSummary(t, h.ask("8.0.42.10.in-addr.arpa.", dns.TypePTR, false), summary{Rcode: "NOERROR",
		Answer: []string{"8.0.42.10.in-addr.arpa. 60 IN PTR elsewhere.example."}})

	// ExternalName targets outside the zone resolve upstream.
	checkSummary(t, h.ask("ext.ns.svc.cluster.local.", dns.TypeA, false), summary{Rcode: "NOERROR", Answer: []string{
		"ext.ns.svc.cluster.local. 5 IN CNAME www.example.com.",
		"www.example.com. 300 IN A 192.0.2.53",
	}})
}

// TestForwardingTruncated retries over TCP when the upstream's UDP answer is
// truncated, and the client then gets as much as its buffer holds.
func TestForwardingTruncated(t *testing.T) {
	up := newUpstream(t, world)
	h := newHarness(t, []string{up.addr}, true)
	m := h.ask("big.example.", dns.TypeTXT, false)
	if !m.Truncated || len(m.Answer) == 0 {
		t.Errorf("UDP answer without EDNS0: TC %v, %d records", m.Truncated, len(m.Answer))
	}
	w := &recorder{remote: &net.TCPAddr{}}
	r := new(dns.Msg)
	r.SetQuestion("big.example.", dns.TypeTXT)
	h.srv.ServeDNS(w, r)
	if w.msg.Truncated || len(w.msg.Answer) != 60 {
		t.Errorf("TCP answer: TC %v, %d records, want 60", w.msg.Truncated, len(w.msg.Answer))
	}
	if n := up.count("big.example. TXT"); n != 2 {
		t.Errorf("upstream asked %d times, want 2 (UDP, then TCP) and then the cache", n)
	}
}

// TestFailover tries the next upstream when one fails or refuses, and answers
// SERVFAIL when all do.
func TestFailover(t *testing.T) {
	refusing := newUpstream(t, refuse)
	good := newUpstream(t, world)
	h := newHarness(t, []string{deadUpstream(t), refusing.addr, good.addr}, true)
	checkSummary(t, h.ask("example.com.", dns.TypeA, false), summary{Rcode: "NOERROR",
		Answer: []string{"example.com. 60 IN A 192.0.2.1"}})
	if refusing.count("example.com. A") != 1 || good.count("example.com. A") != 1 {
		t.Errorf("asked refusing %d, good %d times", refusing.count("example.com. A"), good.count("example.com. A"))
	}

	h = newHarness(t, []string{deadUpstream(t), refusing.addr}, true)
	checkSummary(t, h.ask("example.com.", dns.TypeA, false), summary{Rcode: "SERVFAIL"})
	h.ask("example.com.", dns.TypeA, false)
	if n := refusing.count("example.com. A"); n != 3 {
		t.Errorf("refusing upstream asked %d times, want 3: failures are not cached", n)
	}
}

// TestCacheBound evicts entries beyond the cache's size.
func TestCacheBound(t *testing.T) {
	up := newUpstream(t, world)
	h := newHarness(t, []string{up.addr}, true)
	h.srv.fwd.cache.max = 3
	for _, name := range []string{"a.example.", "b.example.", "c.example.", "d.example.", "e.example."} {
		h.ask(name, dns.TypeA, false)
	}
	if n := h.srv.fwd.cache.len(); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
}

func TestCacheTTL(t *testing.T) {
	rrs := func(ss ...string) []dns.RR {
		var out []dns.RR
		for _, s := range ss {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rr)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		msg  dns.Msg
		want time.Duration
	}{
		{"smallest TTL", dns.Msg{Answer: rrs("a. 60 IN A 192.0.2.1", "a. 30 IN A 192.0.2.2")}, 30 * time.Second},
		{"at most an hour", dns.Msg{Answer: rrs("a. 86400 IN A 192.0.2.1")}, time.Hour},
		{"zero TTL", dns.Msg{Answer: rrs("a. 0 IN A 192.0.2.1")}, 0},
		{"NXDOMAIN", dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeNameError}, Ns: rrs("a. 300 IN SOA ns. m. 1 2 3 4 20")}, 20 * time.Second},
		{"NXDOMAIN at most 30s", dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeNameError}, Ns: rrs("a. 300 IN SOA ns. m. 1 2 3 4 3600")}, 30 * time.Second},
		{"NXDOMAIN without SOA", dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeNameError}}, 0},
		{"NODATA", dns.Msg{Ns: rrs("a. 10 IN SOA ns. m. 1 2 3 4 20")}, 10 * time.Second},
		{"SERVFAIL", dns.Msg{MsgHdr: dns.MsgHdr{Rcode: dns.RcodeServerFailure}}, 0},
		{"truncated", dns.Msg{MsgHdr: dns.MsgHdr{Truncated: true}, Answer: rrs("a. 60 IN A 192.0.2.1")}, 0},
	} {
		if got := cacheTTL(&tt.msg); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestUpstreamsFromResolvConf keeps loopback nameservers: the server runs on the host.
func TestUpstreamsFromResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch example\noptions edns0 trust-ad\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := upstreamsFrom(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.53:53", "192.0.2.1:53", "[2001:db8::1]:53"}; !slices.Equal(got, want) {
		t.Errorf("upstreams %v, want %v", got, want)
	}
	for in, want := range map[string]string{"192.0.2.1": "192.0.2.1:53", "192.0.2.1:5353": "192.0.2.1:5353", "2001:db8::1": "[2001:db8::1]:53", "[2001:db8::1]:54": "[2001:db8::1]:54"} {
		if got, err := normalizeUpstream(in); err != nil || got != want {
			t.Errorf("normalizeUpstream(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalizeUpstream("dns.example"); err == nil {
		t.Error("a host name was accepted as upstream")
	}
}

func TestIsSelf(t *testing.T) {
	for _, tt := range []struct {
		upstream, self string
		want           bool
	}{
		{"127.0.0.1:53", "127.0.0.1:53", true},
		{"127.0.0.53:53", "0.0.0.0:53", true},
		{"[::1]:53", "[::]:53", true},
		{"127.0.0.53:53", "127.0.0.1:53", false},
		{"127.0.0.1:5353", "0.0.0.0:53", false},
		{"192.0.2.1:53", "0.0.0.0:53", false},
		{"10.43.0.10:53", "10.43.0.10:53", true},
	} {
		if got := isSelf(tt.upstream, netip.MustParseAddrPort(tt.self)); got != tt.want {
			t.Errorf("isSelf(%s, %s) = %v, want %v", tt.upstream, tt.self, got, tt.want)
		}
	}
}
