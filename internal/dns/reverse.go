package dns

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

const (
	reverseV4 = "in-addr.arpa."
	reverseV6 = "ip6.arpa."
)

// reverse answers qname, a reverse name, for qtype when its address is a Service's
// ClusterIP or a ready endpoint's address; ok is false for any other name, which is
// not the cluster's to answer.
func (z *zone) reverse(qname string, qtype uint16) (res result, ok bool) {
	addr, suffix, ok := reverseAddr(qname)
	if !ok {
		return result{}, false
	}
	var targets []string
	if svcs := z.store.servicesByIP(addr.String()); len(svcs) > 0 {
		// Two Services never share a ClusterIP; the oldest wins while the API catches up.
		first := slices.MinFunc(svcs, func(a, b *corev1.Service) int {
			return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
		})
		targets = []string{first.Name + "." + first.Namespace + ".svc." + z.origin}
	} else {
		targets = z.endpointNames(addr)
	}
	if len(targets) == 0 {
		return result{}, false
	}
	if qtype != dns.TypePTR {
		return result{soa: suffix}, true
	}
	for _, t := range targets {
		res.answer = append(res.answer, &dns.PTR{Hdr: header(qname, dns.TypePTR, recordTTL), Ptr: t})
	}
	return res, true
}

// endpointNames returns HOSTNAME.SVC.NS.svc.ZONE of every ready endpoint with
// address addr.
func (z *zone) endpointNames(addr netip.Addr) []string {
	var names []string
	for _, es := range z.store.slicesByIP(addr.String()) {
		svc := es.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if got, err := netip.ParseAddr(a); err != nil || got != addr {
					continue
				}
				name := endpointHostname(ep, addr) + "." + svc + "." + es.Namespace + ".svc." + z.origin
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// reverseAddr parses a full reverse name: the address, and the reverse zone
// (in-addr.arpa. or ip6.arpa.) in the name's case.
func reverseAddr(name string) (netip.Addr, string, bool) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, "."+reverseV4):
		labels := strings.Split(strings.TrimSuffix(lower, "."+reverseV4), ".")
		if len(labels) != 4 {
			return netip.Addr{}, "", false
		}
		var b [4]byte
		for i, l := range labels {
			// Reject leading zeros and signs: only the canonical spelling names an address.
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil || strconv.FormatUint(n, 10) != l {
				return netip.Addr{}, "", false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), name[len(name)-len(reverseV4):], true
	case strings.HasSuffix(lower, "."+reverseV6):
		labels := strings.Split(strings.TrimSuffix(lower, "."+reverseV6), ".")
		if len(labels) != 32 {
			return netip.Addr{}, "", false
		}
		var b [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, "", false
			}
			n, err := strconv.ParseUint(l, 16, 8)
			if err != nil {
				return netip.Addr{}, "", false
			}
			nibble := 31 - i
			b[nibble/2] |= byte(n) << (4 * (1 - nibble%2))
		}
		return netip.AddrFrom16(b), name[len(name)-len(reverseV6):], true
	}
	return netip.Addr{}, "", false
}
