package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

const (
	// upstreamBufSize is the EDNS0 buffer size asked of upstreams.
	upstreamBufSize = 1232
	// maxInflight bounds the forwarded queries waiting for upstreams at once.
	maxInflight = 1024
)

var (
	// errNoUpstream: no upstream answered (or none is configured).
	errNoUpstream = errors.New("no upstream answered")
	// errBusy: maxInflight forwarded queries are already waiting.
	errBusy = errors.New("too many forwarded queries in flight")
)

// forwarder resolves names outside the cluster through upstream resolvers, with a
// cache in front of them.
type forwarder struct {
	upstreams atomic.Pointer[[]string] // "host:port", tried in order
	timeout   time.Duration            // one attempt at one upstream, per transport
	cache     *answerCache
	group     singleflight.Group
	inflight  chan struct{} // one token a query waiting for upstreams
	udp, tcp  *dns.Client
}

func newForwarder(upstreams []string, timeout time.Duration, cache *answerCache) *forwarder {
	f := &forwarder{
		timeout:  timeout,
		cache:    cache,
		inflight: make(chan struct{}, maxInflight),
		udp:      &dns.Client{Net: "udp", Timeout: timeout, UDPSize: upstreamBufSize},
		tcp:      &dns.Client{Net: "tcp", Timeout: timeout},
	}
	f.upstreams.Store(&upstreams)
	return f
}

// resolve returns the answer to q with the DNSSEC OK and checking disabled bits do
// and cd, from the cache or else from the first upstream that answers it other than
// SERVFAIL or REFUSED. The answer's question is q as asked upstream; it carries no
// OPT record. The caller owns the returned message.
func (f *forwarder) resolve(ctx context.Context, q dns.Question, do, cd bool) (*dns.Msg, error) {
	key := keyOf(q, do, cd)
	if m := f.cache.get(key); m != nil {
		return m, nil
	}
	v, err, _ := f.group.Do(fmt.Sprint(key), func() (any, error) {
		select {
		case f.inflight <- struct{}{}:
			defer func() { <-f.inflight }()
		default:
			return nil, errBusy
		}
		m, err := f.exchange(ctx, q, do, cd)
		if err != nil {
			return nil, err
		}
		f.cache.put(key, m)
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*dns.Msg).Copy(), nil
}

// exchange asks each upstream in turn.
func (f *forwarder) exchange(ctx context.Context, q dns.Question, do, cd bool) (*dns.Msg, error) {
	ups := *f.upstreams.Load()
	if len(ups) == 0 {
		return nil, errNoUpstream
	}
	req := new(dns.Msg)
	req.Id = dns.Id()
	req.RecursionDesired = true
	req.CheckingDisabled = cd
	req.Question = []dns.Question{q}
	req.SetEdns0(upstreamBufSize, do)

	errs := make([]error, 0, len(ups))
	for _, up := range ups {
		m, err := f.ask(ctx, up, req)
		if err == nil && (m.Rcode == dns.RcodeServerFailure || m.Rcode == dns.RcodeRefused) {
			err = fmt.Errorf("upstream %s answered %s", up, dns.RcodeToString[m.Rcode])
		}
		if err == nil {
			m.Extra = withoutOPT(m.Extra)
			return m, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", errNoUpstream, errors.Join(errs...))
}

// ask sends req to one upstream over UDP, and again over TCP when the answer is
// truncated.
func (f *forwarder) ask(ctx context.Context, upstream string, req *dns.Msg) (*dns.Msg, error) {
	m, err := f.attempt(ctx, f.udp, upstream, req)
	if err == nil && m.Truncated {
		m, err = f.attempt(ctx, f.tcp, upstream, req)
	}
	return m, err
}

func (f *forwarder) attempt(ctx context.Context, c *dns.Client, upstream string, req *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	m, _, err := c.ExchangeContext(ctx, req, upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream %s over %s: %w", upstream, c.Net, err)
	}
	q := req.Question[0]
	if len(m.Question) != 1 || !strings.EqualFold(m.Question[0].Name, q.Name) ||
		m.Question[0].Qtype != q.Qtype || m.Question[0].Qclass != q.Qclass {
		return nil, fmt.Errorf("upstream %s over %s: answer for another question", upstream, c.Net)
	}
	return m, nil
}

// dropSelf removes from the upstreams the address the server listens on, so that it
// never forwards to itself.
func (f *forwarder) dropSelf(local net.Addr, log func(upstream string)) {
	self, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return
	}
	var kept []string
	for _, up := range *f.upstreams.Load() {
		if isSelf(up, self) {
			log(up)
			continue
		}
		kept = append(kept, up)
	}
	f.upstreams.Store(&kept)
}

// isSelf reports whether upstream reaches a server listening on self: the same port,
// and the same address or, for a wildcard listener, any loopback address.
func isSelf(upstream string, self netip.AddrPort) bool {
	ap, err := netip.ParseAddrPort(upstream)
	if err != nil || ap.Port() != self.Port() {
		return false
	}
	a, s := ap.Addr().Unmap(), self.Addr().Unmap()
	return a == s || (s.IsUnspecified() && (a.IsLoopback() || a.IsUnspecified()))
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	out := rrs[:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// upstreamsFrom returns the nameservers of a resolv.conf file as "host:port",
// loopback ones included: the server runs on the host and reaches them.
func upstreamsFrom(path string) ([]string, error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("resolv.conf %q: %w", path, err)
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out, nil
}

// normalizeUpstream adds port 53 to an address without one.
func normalizeUpstream(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return "", fmt.Errorf("upstream %q: not IP or IP:port", s)
	}
	return netip.AddrPortFrom(a, 53).String(), nil
}
