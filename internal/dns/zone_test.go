package dns

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// TestClusterZone answers the names of the DNS specification from the cluster
// fixture, through the handler.
func TestClusterZone(t *testing.T) {
	h := newHarness(t, nil, true, cluster()...)
	nxdomain := summary{Rcode: "NXDOMAIN", Ns: []string{soaRR}}
	nodata := summary{Rcode: "NOERROR", Ns: []string{soaRR}}
	tests := []struct {
		name  string
		qname string
		qtype uint16
		want  summary
	}{
		{name: "service A", qname: "web.ns.svc.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}}},
		{name: "case of the question kept", qname: "WeB.Ns.SVC.Cluster.LOCAL.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{"WeB.Ns.SVC.Cluster.LOCAL. 5 IN A 10.43.0.10"}}},
		{name: "IPv4 service AAAA is NODATA", qname: "web.ns.svc.cluster.local.", qtype: dns.TypeAAAA, want: nodata},
		{name: "service TXT is NODATA", qname: "web.ns.svc.cluster.local.", qtype: dns.TypeTXT, want: nodata},
		{name: "dual-stack AAAA", qname: "dual.ns.svc.cluster.local.", qtype: dns.TypeAAAA, want: summary{Rcode: "NOERROR",
			Answer: []string{"dual.ns.svc.cluster.local. 5 IN AAAA fd00::11"}}},
		{name: "named port SRV", qname: "_http._tcp.web.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: summary{Rcode: "NOERROR",
			Answer: []string{"_http._tcp.web.ns.svc.cluster.local. 5 IN SRV 0 100 80 web.ns.svc.cluster.local."},
			Extra:  []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}}},
		{name: "port and protocol lowercased", qname: "_DNS._UDP.web.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: summary{Rcode: "NOERROR",
			Answer: []string{"_DNS._UDP.web.ns.svc.cluster.local. 5 IN SRV 0 100 53 web.ns.svc.cluster.local."},
			Extra:  []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}}},
		{name: "wrong protocol", qname: "_http._udp.web.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: nxdomain},
		{name: "service SRV lists every port", qname: "web.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: summary{Rcode: "NOERROR",
			Answer: []string{
				"web.ns.svc.cluster.local. 5 IN SRV 0 50 53 web.ns.svc.cluster.local.",
				"web.ns.svc.cluster.local. 5 IN SRV 0 50 80 web.ns.svc.cluster.local.",
			},
			Extra: []string{"web.ns.svc.cluster.local. 5 IN A 10.43.0.10"}}},
		{name: "dual-stack SRV adds both addresses", qname: "_http._tcp.dual.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: summary{Rcode: "NOERROR",
			Answer: []string{"_http._tcp.dual.ns.svc.cluster.local. 5 IN SRV 0 100 80 dual.ns.svc.cluster.local."},
			Extra:  []string{"dual.ns.svc.cluster.local. 5 IN A 10.43.0.11", "dual.ns.svc.cluster.local. 5 IN AAAA fd00::11"}}},
		{name: "headless A lists ready endpoints", qname: "db.ns.svc.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{
				"db.ns.svc.cluster.local. 5 IN A 10.42.0.5",
				"db.ns.svc.cluster.local. 5 IN A 10.42.0.6",
				"db.ns.svc.cluster.local. 5 IN A 10.42.0.7",
			}}},
		{name: "headless hostname", qname: "db-0.db.ns.svc.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{"db-0.db.ns.svc.cluster.local. 5 IN A 10.42.0.5"}}},
		{name: "headless dashed address", qname: "10-42-0-7.db.ns.svc.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{"10-42-0-7.db.ns.svc.cluster.local. 5 IN A 10.42.0.7"}}},
		{name: "not ready endpoint", qname: "db-3.db.ns.svc.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "headless SRV", qname: "_pg._tcp.db.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: summary{Rcode: "NOERROR",
			Answer: []string{
				"_pg._tcp.db.ns.svc.cluster.local. 5 IN SRV 0 33 5432 10-42-0-7.db.ns.svc.cluster.local.",
				"_pg._tcp.db.ns.svc.cluster.local. 5 IN SRV 0 33 5432 db-0.db.ns.svc.cluster.local.",
				"_pg._tcp.db.ns.svc.cluster.local. 5 IN SRV 0 33 5432 db-1.db.ns.svc.cluster.local.",
			},
			Extra: []string{
				"10-42-0-7.db.ns.svc.cluster.local. 5 IN A 10.42.0.7",
				"db-0.db.ns.svc.cluster.local. 5 IN A 10.42.0.5",
				"db-1.db.ns.svc.cluster.local. 5 IN A 10.42.0.6",
			}}},
		{name: "headless without ready endpoints", qname: "empty.ns.svc.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "ExternalName CNAME", qname: "ext.ns.svc.cluster.local.", qtype: dns.TypeCNAME, want: summary{Rcode: "NOERROR",
			Answer: []string{"ext.ns.svc.cluster.local. 5 IN CNAME www.example.com."}}},
		{name: "ExternalName A keeps the CNAME when upstream fails", qname: "ext.ns.svc.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{"ext.ns.svc.cluster.local. 5 IN CNAME www.example.com."}}},
		{name: "ExternalName port is NXDOMAIN", qname: "_http._tcp.ext.ns.svc.cluster.local.", qtype: dns.TypeSRV, want: nxdomain},
		{name: "ExternalName into the zone", qname: "inner.ns.svc.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{
				"inner.ns.svc.cluster.local. 5 IN CNAME web.ns.svc.cluster.local.",
				"web.ns.svc.cluster.local. 5 IN A 10.43.0.10",
			}}},
		{name: "pod A", qname: "10-42-0-99.ns.pod.cluster.local.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Answer: []string{"10-42-0-99.ns.pod.cluster.local. 5 IN A 10.42.0.99"}}},
		{name: "pod AAAA of IPv4 is NODATA", qname: "10-42-0-99.ns.pod.cluster.local.", qtype: dns.TypeAAAA, want: nodata},
		{name: "IPv6 pod", qname: "fd00--1.ns.pod.cluster.local.", qtype: dns.TypeAAAA, want: summary{Rcode: "NOERROR",
			Answer: []string{"fd00--1.ns.pod.cluster.local. 5 IN AAAA fd00::1"}}},
		{name: "malformed pod address", qname: "10-42-0.ns.pod.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "pod in missing namespace", qname: "10-42-0-99.nope.pod.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "ClusterIP PTR", qname: "10.0.43.10.in-addr.arpa.", qtype: dns.TypePTR, want: summary{Rcode: "NOERROR",
			Answer: []string{"10.0.43.10.in-addr.arpa. 5 IN PTR web.ns.svc.cluster.local."}}},
		{name: "IPv6 ClusterIP PTR", qname: mustReverse(t, "fd00::11"), qtype: dns.TypePTR, want: summary{Rcode: "NOERROR",
			Answer: []string{mustReverse(t, "fd00::11") + " 5 IN PTR dual.ns.svc.cluster.local."}}},
		{name: "endpoint PTR", qname: "5.0.42.10.IN-ADDR.ARPA.", qtype: dns.TypePTR, want: summary{Rcode: "NOERROR",
			Answer: []string{"5.0.42.10.IN-ADDR.ARPA. 5 IN PTR db-0.db.ns.svc.cluster.local."}}},
		{name: "endpoint PTR without hostname", qname: "7.0.42.10.in-addr.arpa.", qtype: dns.TypePTR, want: summary{Rcode: "NOERROR",
			Answer: []string{"7.0.42.10.in-addr.arpa. 5 IN PTR 10-42-0-7.db.ns.svc.cluster.local."}}},
		{name: "known reverse name, other type", qname: "10.0.43.10.in-addr.arpa.", qtype: dns.TypeA, want: summary{Rcode: "NOERROR",
			Ns: []string{"in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1767225600 7200 1800 86400 5"}}},
		{name: "unknown reverse name is forwarded", qname: "8.0.42.10.in-addr.arpa.", qtype: dns.TypePTR, want: summary{Rcode: "SERVFAIL"}},
		{name: "schema version", qname: "dns-version.cluster.local.", qtype: dns.TypeTXT, want: summary{Rcode: "NOERROR",
			Answer: []string{`dns-version.cluster.local. 28800 IN TXT "1.1.0"`}}},
		{name: "apex SOA", qname: "cluster.local.", qtype: dns.TypeSOA, want: summary{Rcode: "NOERROR", Answer: []string{soaRR}}},
		{name: "apex A", qname: "cluster.local.", qtype: dns.TypeA, want: nodata},
		{name: "namespace", qname: "ns.svc.cluster.local.", qtype: dns.TypeA, want: nodata},
		{name: "svc", qname: "svc.cluster.local.", qtype: dns.TypeA, want: nodata},
		{name: "missing namespace", qname: "nope.svc.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "missing service", qname: "nope.ns.svc.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "search-path expansion", qname: "www.example.com.ns.svc.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "neither svc nor pod", qname: "web.ns.cluster.local.", qtype: dns.TypeA, want: nxdomain},
		{name: "zone transfer refused", qname: "cluster.local.", qtype: dns.TypeAXFR, want: summary{Rcode: "REFUSED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := h.ask(tt.qname, tt.qtype, false)
			checkSummary(t, m, tt.want)
			local := tt.want.Rcode != "SERVFAIL" && tt.want.Rcode != "REFUSED"
			if m.Authoritative != local {
				t.Errorf("authoritative %v, want %v", m.Authoritative, local)
			}
		})
	}
}

func mustReverse(t *testing.T, ip string) string {
	t.Helper()
	r, err := dns.ReverseAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNotSynced answers SERVFAIL, not NXDOMAIN, before the informers have listed.
func TestNotSynced(t *testing.T) {
	h := newHarness(t, nil, false)
	checkSummary(t, h.ask("web.ns.svc.cluster.local.", dns.TypeA, false), summary{Rcode: "SERVFAIL"})
	checkSummary(t, h.ask("cluster.local.", dns.TypeA, false), summary{Rcode: "NOERROR", Ns: []string{soaRR}})
}

// TestMalformedQuestions answers what the network layer lets through.
func TestMalformedQuestions(t *testing.T) {
	h := newHarness(t, nil, true, cluster()...)
	w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}

	none := new(dns.Msg)
	h.srv.ServeDNS(w, none)
	if w.msg.Rcode != dns.RcodeFormatError {
		t.Errorf("no question: %s, want FORMERR", dns.RcodeToString[w.msg.Rcode])
	}

	update := new(dns.Msg)
	update.SetUpdate("cluster.local.")
	h.srv.ServeDNS(w, update)
	if w.msg.Rcode != dns.RcodeNotImplemented {
		t.Errorf("update: %s, want NOTIMP", dns.RcodeToString[w.msg.Rcode])
	}

	chaos := new(dns.Msg)
	chaos.SetQuestion("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	h.srv.ServeDNS(w, chaos)
	if w.msg.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS: %s, want REFUSED", dns.RcodeToString[w.msg.Rcode])
	}
}

// TestTruncation cuts a UDP answer to 512 bytes without EDNS0, or to the client's
// buffer (at most 1232 bytes), and sets TC; over TCP the answer is whole.
func TestTruncation(t *testing.T) {
	h := newHarness(t, nil, true, cluster()...)
	for _, tt := range []struct {
		name   string
		edns   bool
		remote net.Addr
		max    int
		whole  bool
	}{
		{name: "udp", remote: &net.UDPAddr{}, max: 512},
		{name: "udp edns", edns: true, remote: &net.UDPAddr{}, max: 1232},
		{name: "tcp", remote: &net.TCPAddr{}, max: dns.MaxMsgSize, whole: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := new(dns.Msg)
			r.SetQuestion("big.ns.svc.cluster.local.", dns.TypeA)
			if tt.edns {
				r.SetEdns0(4096, false)
			}
			w := &recorder{remote: tt.remote}
			h.srv.ServeDNS(w, r)
			packed, err := w.msg.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if len(packed) > tt.max {
				t.Errorf("%d bytes, want at most %d", len(packed), tt.max)
			}
			if whole := len(w.msg.Answer) == 100; whole != tt.whole || w.msg.Truncated == tt.whole {
				t.Errorf("%d answers, TC %v", len(w.msg.Answer), w.msg.Truncated)
			}
			if tt.edns && w.msg.IsEdns0() == nil {
				t.Error("no OPT record in the answer to an EDNS0 query")
			}
		})
	}
}

func TestReverseAddr(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string // "" for none
	}{
		{"4.3.2.1.in-addr.arpa.", "1.2.3.4"},
		{"4.3.2.1.In-Addr.Arpa.", "1.2.3.4"},
		{"3.2.1.in-addr.arpa.", ""},
		{"04.3.2.1.in-addr.arpa.", ""},
		{"256.3.2.1.in-addr.arpa.", ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "fd00::1"},
		{"1.0.0.ip6.arpa.", ""},
		{"4.3.2.1.in-addr.arpa.example.", ""},
	} {
		addr, _, ok := reverseAddr(tt.name)
		got := ""
		if ok {
			got = addr.String()
		}
		if got != tt.want {
			t.Errorf("reverseAddr(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEndpointHostnameOfIPv6(t *testing.T) {
	for addr, want := range map[string]string{"fd00::1": "fd00--1", "fd00::": "fd00--0", "2001:db8:0:1::5": "2001-db8-0-1--5"} {
		if got := endpointHostname(endpoint(addr, "", nil), netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}

func BenchmarkServeDNS(b *testing.B) {
	h := newHarness(b, nil, true, cluster()...)
	r := new(dns.Msg)
	r.SetQuestion("web.ns.svc.cluster.local.", dns.TypeA)
	w := &recorder{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
	b.ReportAllocs()
	for b.Loop() {
		h.srv.ServeDNS(w, r)
	}
	if len(w.msg.Answer) != 1 {
		b.Fatalf("answer %v", w.msg.Answer)
	}
}

// FuzzServeDNS feeds arbitrary messages to the handler: it must answer without
// panicking.
func FuzzServeDNS(f *testing.F) {
	h := newHarness(f, nil, true, cluster()...)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"web.ns.svc.cluster.local.", dns.TypeA},
		{"_pg._tcp.db.ns.svc.cluster.local.", dns.TypeSRV},
		{"10-42-0-1.ns.pod.cluster.local.", dns.TypeA},
		{"10.0.43.10.in-addr.arpa.", dns.TypePTR},
		{"inner.ns.svc.cluster.local.", dns.TypeANY},
	} {
		r := new(dns.Msg)
		r.SetQuestion(q.name, q.qtype)
		b, err := r.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Without upstreams, names outside the zone fail at once, without network.
	f.Fuzz(func(t *testing.T, b []byte) {
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil {
			return
		}
		w := &recorder{remote: &net.UDPAddr{}}
		h.srv.ServeDNS(w, r)
		if w.msg == nil {
			t.Fatal("no answer")
		}
	})
}
