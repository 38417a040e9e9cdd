package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/utils/clock"
)

const (
	// maxUDPSize is the largest UDP message read or written, and the EDNS0 buffer
	// size advertised to clients (the DNS flag day 2020 value, which avoids
	// fragmentation).
	maxUDPSize = 1232
	// forwardDeadline bounds the whole upstream resolution of one query.
	forwardDeadline = 5 * time.Second
)

// Config configures a Server. The zero value of every field but the informer factory
// given to New selects a default.
type Config struct {
	// ClusterDomain is the zone answered from the cluster; "cluster.local" when empty.
	ClusterDomain string
	// Upstreams are the resolvers other names are forwarded to, "IP" or "IP:port",
	// tried in order; when empty, the nameservers of ResolvConf.
	Upstreams []string
	// ResolvConf is read for Upstreams when they are not given; "/etc/resolv.conf"
	// when empty.
	ResolvConf string
	// UpstreamTimeout bounds one attempt at one upstream; 2 seconds when zero.
	UpstreamTimeout time.Duration
	// MaxTCPConns bounds the TCP connections held at once; 256 when zero. Further
	// clients wait in the listen backlog.
	MaxTCPConns int
	// Logger receives the server's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Clock drives the cache and the SOA serial; the real clock when nil.
	Clock clock.Clock
}

// Server answers DNS queries: names of the cluster domain from informer caches,
// others through upstream resolvers. Its methods are safe for concurrent use.
type Server struct {
	zone    *zone
	fwd     *forwarder
	log     *slog.Logger
	maxConn int
}

var _ dns.Handler = (*Server)(nil)

// New returns a Server on the Services, EndpointSlices and Namespaces informers of
// factory. New requests those informers, so the caller calls factory.Start after it
// (again, if the factory was started before). Until they have synced, names that
// would not exist answer SERVFAIL. Without upstreams (none given and none in
// resolv.conf) names outside the cluster answer SERVFAIL.
func New(factory informers.SharedInformerFactory, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = "/etc/resolv.conf"
	}
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = 2 * time.Second
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = 256
	}
	origin := dns.CanonicalName(cfg.ClusterDomain)
	if _, ok := dns.IsDomainName(origin); !ok || origin == "." {
		return nil, fmt.Errorf("cluster domain %q: not a domain name", cfg.ClusterDomain)
	}

	upstreams := make([]string, 0, len(cfg.Upstreams))
	for _, u := range cfg.Upstreams {
		n, err := normalizeUpstream(u)
		if err != nil {
			return nil, err
		}
		upstreams = append(upstreams, n)
	}
	if len(upstreams) == 0 {
		var err error
		if upstreams, err = upstreamsFrom(cfg.ResolvConf); err != nil {
			cfg.Logger.Warn("no upstream resolvers: names outside the cluster will fail", "err", err)
		} else if len(upstreams) == 0 {
			cfg.Logger.Warn("no upstream resolvers: names outside the cluster will fail", "resolvConf", cfg.ResolvConf)
		}
	}

	st, err := newStore(factory, cfg.Clock)
	if err != nil {
		return nil, err
	}
	return &Server{
		zone:    &zone{origin: origin, store: st},
		fwd:     newForwarder(upstreams, cfg.UpstreamTimeout, newAnswerCache(cfg.Clock, cacheSize)),
		log:     cfg.Logger,
		maxConn: cfg.MaxTCPConns,
	}, nil
}

// ServeDNS answers r on w: UDP answers are cut to the client's buffer size and then
// carry the TC bit.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := s.answer(context.Background(), r)
	size := dns.MaxMsgSize
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size = dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		}
	}
	m.Truncate(size)
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("dns: writing answer", "client", w.RemoteAddr().String(), "err", err)
	}
}

// answer returns the whole answer to r.
func (s *Server) answer(ctx context.Context, r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	switch {
	case r.Opcode != dns.OpcodeQuery:
		m.SetRcode(r, dns.RcodeNotImplemented)
		return m
	case len(r.Question) != 1:
		m.SetRcodeFormatError(r)
		return m
	}
	m.SetReply(r)
	m.RecursionAvailable = true
	opt := r.IsEdns0()
	do := opt != nil && opt.Do()
	if opt != nil {
		defer m.SetEdns0(maxUDPSize, do)
	}

	q := r.Question[0]
	if q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		return m
	}
	if s.zone.contains(q.Name) {
		if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
			m.Rcode = dns.RcodeRefused
			return m
		}
		res := s.zone.lookup(q.Name, q.Qtype)
		if res.alias != "" {
			s.chase(ctx, &res, dns.Question{Name: res.alias, Qtype: q.Qtype, Qclass: q.Qclass}, do, r.CheckingDisabled)
		}
		s.fill(m, res)
		return m
	}
	if res, ok := s.zone.reverse(q.Name, q.Qtype); ok {
		s.fill(m, res)
		return m
	}

	ctx, cancel := context.WithTimeout(ctx, forwardDeadline)
	defer cancel()
	up, err := s.fwd.resolve(ctx, q, do, r.CheckingDisabled)
	if err != nil {
		s.log.Debug("dns: forwarding failed", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Rcode = up.Rcode
	m.AuthenticatedData = up.AuthenticatedData && (do || r.AuthenticatedData)
	m.Answer = renamed(up.Answer, q.Name)
	m.Ns, m.Extra = up.Ns, up.Extra
	return m
}

// chase resolves an ExternalName's target outside the zone upstream and appends its
// records to res; when that fails, res keeps the CNAME alone.
func (s *Server) chase(ctx context.Context, res *result, q dns.Question, do, cd bool) {
	ctx, cancel := context.WithTimeout(ctx, forwardDeadline)
	defer cancel()
	up, err := s.fwd.resolve(ctx, q, do, cd)
	if err != nil {
		if !errors.Is(err, errBusy) {
			s.log.Debug("dns: resolving ExternalName target", "name", q.Name, "err", err)
		}
		return
	}
	res.answer = append(res.answer, renamed(up.Answer, q.Name)...)
	if up.Rcode == dns.RcodeNameError {
		res.rcode = dns.RcodeNameError
	}
}

// fill writes an authoritative answer from res into m.
func (s *Server) fill(m *dns.Msg, res result) {
	m.Authoritative = true
	m.Rcode = res.rcode
	m.Answer, m.Extra = res.answer, res.extra
	if res.soa == "" || res.rcode == dns.RcodeServerFailure {
		return
	}
	soa := s.zone.soa(res.soa)
	if !s.zone.contains(res.soa) {
		// A reverse zone: the same SOA fields under its own name.
		soa.Ns, soa.Mbox = "ns.dns."+s.zone.origin, "hostmaster."+s.zone.origin
	}
	m.Ns = []dns.RR{soa}
}

// renamed returns rrs with the owner names equal to name but for case written as
// name, so that answers keep the case of the question.
func renamed(rrs []dns.RR, name string) []dns.RR {
	for _, rr := range rrs {
		if h := rr.Header(); h.Name != name && strings.EqualFold(h.Name, name) {
			h.Name = name
		}
	}
	return rrs
}
