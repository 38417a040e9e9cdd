package dns

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"k8s.io/utils/clock"
)

const (
	cacheSize      = 10000
	maxPositiveTTL = time.Hour
	maxNegativeTTL = 30 * time.Second
)

// cacheKey identifies a forwarded question: what the upstream answer depends on.
type cacheKey struct {
	name        string // lowercase
	qtype       uint16
	qclass      uint16
	dnssecOK    bool
	checkingOff bool
}

func keyOf(q dns.Question, do, cd bool) cacheKey {
	return cacheKey{name: strings.ToLower(q.Name), qtype: q.Qtype, qclass: q.Qclass, dnssecOK: do, checkingOff: cd}
}

// answerCache holds upstream answers until their TTL runs out: positive ones for
// their smallest TTL (at most maxPositiveTTL), NXDOMAIN and NODATA for their SOA's
// minimum (at most maxNegativeTTL). It holds at most max entries and evicts a random
// one to make room.
type answerCache struct {
	clock clock.PassiveClock
	max   int

	mu      sync.Mutex // guards entries
	entries map[cacheKey]cacheEntry
}

type cacheEntry struct {
	msg     *dns.Msg // not modified once stored
	stored  time.Time
	expires time.Time
}

func newAnswerCache(clk clock.PassiveClock, max int) *answerCache {
	return &answerCache{clock: clk, max: max, entries: make(map[cacheKey]cacheEntry)}
}

// get returns a copy of the answer stored for k with its TTLs lowered by the time it
// has been held, or nil.
func (c *answerCache) get(k cacheKey) *dns.Msg {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, section := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range section {
			h := rr.Header()
			h.Ttl -= min(h.Ttl, age)
		}
	}
	return m
}

// put stores m, an upstream answer for k, if it may be cached; m must not be
// modified afterwards.
func (c *answerCache) put(k cacheKey, m *dns.Msg) {
	ttl := cacheTTL(m)
	if ttl <= 0 {
		return
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for old := range c.entries { // map order is random
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = cacheEntry{msg: m, stored: now, expires: now.Add(ttl)}
}

func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// cacheTTL is how long m may be cached: zero for truncated answers, failures, and
// negative answers without a SOA.
func cacheTTL(m *dns.Msg) time.Duration {
	if m.Truncated {
		return 0
	}
	negative := m.Rcode == dns.RcodeNameError || (m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0)
	if negative {
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl := time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
				return min(ttl, maxNegativeTTL)
			}
		}
		return 0
	}
	if m.Rcode != dns.RcodeSuccess {
		return 0
	}
	ttl := maxPositiveTTL
	for _, section := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range section {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
		}
	}
	return ttl
}
