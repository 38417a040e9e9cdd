package dns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

const (
	// recordTTL is the TTL of every record the cluster zone answers with (CoreDNS's
	// default), and the SOA's minimum.
	recordTTL = 5
	// schemaVersion is the version of the DNS schema served at dns-version.ZONE.
	schemaVersion = "1.1.0"
	versionTTL    = 28800
	// maxAliases bounds a chain of ExternalName Services pointing into the zone.
	maxAliases = 8
)

// result is the answer to one question from cluster state.
type result struct {
	rcode  int // RcodeSuccess, RcodeNameError or RcodeServerFailure
	answer []dns.RR
	extra  []dns.RR
	// soa, when set, is the owner of the SOA to put in the authority section: the
	// answer is negative (NXDOMAIN or NODATA).
	soa string
	// alias is a CNAME target outside the zone that the answer ends at: the caller
	// resolves it upstream with the question's type and appends the records.
	alias string
}

// zone answers names of the cluster domain and reverse names of cluster addresses.
type zone struct {
	origin string // the cluster domain: lowercase, fully qualified
	store  *store
}

// contains reports whether name, fully qualified, lies in the cluster domain.
func (z *zone) contains(name string) bool {
	n := len(name) - len(z.origin)
	return n >= 0 && strings.EqualFold(name[n:], z.origin) && (n == 0 || name[n-1] == '.')
}

// lookup answers qname, which the zone contains, for qtype; owner names keep
// qname's case.
func (z *zone) lookup(qname string, qtype uint16) result {
	return z.lookupDepth(qname, qtype, 0)
}

func (z *zone) lookupDepth(qname string, qtype uint16, depth int) result {
	apex := qname[len(qname)-len(z.origin):] // the zone in the question's case
	rel := strings.ToLower(qname[:len(qname)-len(z.origin)])
	labels := dns.SplitDomainName(rel)

	var res result
	exists := true
	switch {
	case len(labels) == 0:
		if qtype == dns.TypeSOA {
			res.answer = []dns.RR{z.soa(apex)}
		}
	case len(labels) == 1 && labels[0] == "dns-version":
		if qtype == dns.TypeTXT {
			res.answer = []dns.RR{&dns.TXT{Hdr: header(qname, dns.TypeTXT, versionTTL), Txt: []string{schemaVersion}}}
		}
	case labels[len(labels)-1] == "pod":
		var addr netip.Addr
		addr, exists = z.pod(labels[:len(labels)-1])
		if addr.IsValid() {
			res.answer = addressRecords(qname, qtype, []netip.Addr{addr})
		}
	case labels[len(labels)-1] == "svc":
		var ts []target
		var alias string
		ts, alias, exists = z.service(labels[:len(labels)-1], apex)
		if alias != "" {
			return z.follow(qname, qtype, alias, depth)
		}
		res.answer, res.extra = records(qname, qtype, ts)
	default:
		exists = false
	}

	switch {
	case !exists && !z.store.synced():
		res.rcode = dns.RcodeServerFailure
	case !exists:
		res.rcode, res.soa = dns.RcodeNameError, apex
	case len(res.answer) == 0:
		res.soa = apex
	}
	return res
}

// follow answers qname, an ExternalName Service's name, with a CNAME to alias and,
// unless the question is for the CNAME, the records of alias.
func (z *zone) follow(qname string, qtype uint16, alias string, depth int) result {
	res := result{answer: []dns.RR{&dns.CNAME{Hdr: header(qname, dns.TypeCNAME, recordTTL), Target: alias}}}
	switch {
	case qtype == dns.TypeCNAME:
	case !z.contains(alias):
		res.alias = alias
	case depth < maxAliases && !strings.EqualFold(alias, qname):
		next := z.lookupDepth(alias, qtype, depth+1)
		res.rcode, res.soa, res.alias = next.rcode, next.soa, next.alias
		res.answer = append(res.answer, next.answer...)
		res.extra = next.extra
	}
	return res
}

// pod resolves NS/ADDRESS labels under pod.ZONE (rightmost first removed): the
// address a dashed name stands for, whether the name exists.
func (z *zone) pod(labels []string) (netip.Addr, bool) {
	switch len(labels) {
	case 0:
		return netip.Addr{}, true
	case 1:
		return netip.Addr{}, z.store.namespaceExists(labels[0])
	case 2:
		if !z.store.namespaceExists(labels[1]) {
			return netip.Addr{}, false
		}
		addr, ok := undash(labels[0])
		return addr, ok
	}
	return netip.Addr{}, false
}

// undash parses a dashed address: four dash-separated parts without "--" are IPv4,
// anything else is IPv6 with colons written as dashes.
func undash(s string) (netip.Addr, bool) {
	var text string
	if strings.Count(s, "-") == 3 && !strings.Contains(s, "--") {
		text = strings.ReplaceAll(s, "-", ".")
	} else {
		text = strings.ReplaceAll(s, "-", ":")
	}
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, false
	}
	return addr, true
}

// target is one address a name under svc.ZONE stands for, with the port an SRV
// record would carry (-1: none) and the domain such a record would point at.
type target struct {
	addr   netip.Addr
	port   int32
	domain string
}

// service resolves the labels under svc.ZONE (rightmost first removed): its
// targets, the target of an ExternalName Service, and whether the name exists.
func (z *zone) service(labels []string, apex string) (ts []target, alias string, exists bool) {
	n := len(labels)
	switch n {
	case 0:
		return nil, "", true
	case 1:
		return nil, "", z.store.namespaceExists(labels[0])
	case 2, 3, 4:
	default:
		return nil, "", false
	}
	ns, name := labels[n-1], labels[n-2]
	var endpoint, port, proto string
	switch n {
	case 3:
		endpoint = labels[0]
	case 4:
		port, proto = strings.TrimPrefix(labels[0], "_"), strings.TrimPrefix(labels[1], "_")
	}
	svc := z.store.service(ns, name)
	if svc == nil {
		return nil, "", false
	}
	svcDomain := name + "." + ns + ".svc." + apex

	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if n > 2 || svc.Spec.ExternalName == "" {
			return nil, "", false
		}
		if addr, err := netip.ParseAddr(svc.Spec.ExternalName); err == nil {
			return []target{{addr: addr, port: -1, domain: svcDomain}}, "", true
		}
		return nil, dns.Fqdn(svc.Spec.ExternalName), true
	}

	if svc.Spec.ClusterIP == corev1.ClusterIPNone || endpoint != "" {
		ts = endpointTargets(z.store.endpointSlices(ns, name), endpoint, port, proto, svcDomain)
		return ts, "", len(ts) > 0
	}

	ports := svc.Spec.Ports
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Port: -1}}
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, p := range ports {
		if !matchPort(port, proto, p.Name, p.Protocol) {
			continue
		}
		exists = true
		for _, ip := range ips {
			if addr, err := netip.ParseAddr(ip); err == nil {
				ts = append(ts, target{addr: addr, port: p.Port, domain: svcDomain})
			}
		}
	}
	return ts, "", exists
}

// endpointTargets returns the ready endpoint addresses of slices, those whose
// hostname is endpoint when it is set, times the slices' ports that match port and
// proto.
func endpointTargets(slices []*discoveryv1.EndpointSlice, endpoint, port, proto, svcDomain string) []target {
	var ts []target
	for _, es := range slices {
		if es.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		ports := es.Ports
		if len(ports) == 0 {
			ports = []discoveryv1.EndpointPort{{}}
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				host := endpointHostname(ep, addr)
				if endpoint != "" && endpoint != strings.ToLower(host) {
					continue
				}
				for _, p := range ports {
					name, number, protocol := "", int32(-1), corev1.ProtocolTCP
					if p.Name != nil {
						name = *p.Name
					}
					if p.Port != nil {
						number = *p.Port
					}
					if p.Protocol != nil {
						protocol = *p.Protocol
					}
					if !matchPort(port, proto, name, protocol) {
						continue
					}
					ts = append(ts, target{addr: addr, port: number, domain: host + "." + svcDomain})
				}
			}
		}
	}
	return ts
}

// endpointHostname is the endpoint's hostname, or else its address with the dots or
// colons replaced by dashes.
func endpointHostname(ep discoveryv1.Endpoint, addr netip.Addr) string {
	if ep.Hostname != nil && *ep.Hostname != "" {
		return *ep.Hostname
	}
	if addr.Is4() {
		return strings.ReplaceAll(addr.String(), ".", "-")
	}
	h := strings.ReplaceAll(addr.String(), ":", "-")
	if strings.HasSuffix(h, "-") {
		h += "0"
	}
	return h
}

// matchPort reports whether a port named name with protocol matches the port and
// protocol labels of a query (empty: any).
func matchPort(qport, qproto, name string, protocol corev1.Protocol) bool {
	if qport != "" && !strings.EqualFold(qport, name) {
		return false
	}
	return qproto == "" || strings.EqualFold(qproto, string(protocol))
}

// records returns the records of type qtype that targets give qname, and the
// additional records that go with them.
func records(qname string, qtype uint16, ts []target) (answer, extra []dns.RR) {
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		addrs := make([]netip.Addr, 0, len(ts))
		for _, t := range ts {
			addrs = append(addrs, t.addr)
		}
		return addressRecords(qname, qtype, addrs), nil
	case dns.TypeSRV:
		return srvRecords(qname, ts)
	}
	return nil, nil
}

// addressRecords returns the A (or AAAA) records of the addresses of that family,
// without duplicates.
func addressRecords(name string, qtype uint16, addrs []netip.Addr) []dns.RR {
	var rrs []dns.RR
	seen := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		if rr := addressRecord(name, a); rr != nil && rr.Header().Rrtype == qtype {
			rrs = append(rrs, rr)
		}
	}
	return rrs
}

func addressRecord(name string, a netip.Addr) dns.RR {
	if a.Is4() {
		return &dns.A{Hdr: header(name, dns.TypeA, recordTTL), A: a.AsSlice()}
	}
	return &dns.AAAA{Hdr: header(name, dns.TypeAAAA, recordTTL), AAAA: a.AsSlice()}
}

// srvRecords returns one SRV record for each domain and port of targets (those
// without a port have none), and the targets' addresses as additional records.
func srvRecords(qname string, ts []target) (answer, extra []dns.RR) {
	type srvKey struct {
		domain string
		port   int32
	}
	type addrKey struct {
		domain string
		addr   netip.Addr
	}
	var srvs []*dns.SRV
	seenSRV := map[srvKey]bool{}
	seenAddr := map[addrKey]bool{}
	for _, t := range ts {
		if t.port < 0 || t.port > 65535 {
			continue
		}
		if k := (srvKey{t.domain, t.port}); !seenSRV[k] {
			seenSRV[k] = true
			srvs = append(srvs, &dns.SRV{Hdr: header(qname, dns.TypeSRV, recordTTL), Port: uint16(t.port), Target: t.domain})
		}
		if k := (addrKey{t.domain, t.addr}); !seenAddr[k] {
			seenAddr[k] = true
			extra = append(extra, addressRecord(t.domain, t.addr))
		}
	}
	// Equal priority, the weights sharing 100 (at least 1 each).
	weight := uint16(1)
	if len(srvs) > 0 && len(srvs) < 100 {
		weight = uint16(100 / len(srvs))
	}
	for _, s := range srvs {
		s.Weight = weight
		answer = append(answer, s)
	}
	return answer, extra
}

// soa is the zone's SOA record; apex is the zone in the question's case.
func (z *zone) soa(apex string) *dns.SOA {
	return &dns.SOA{
		Hdr:     header(apex, dns.TypeSOA, recordTTL),
		Ns:      "ns.dns." + apex,
		Mbox:    "hostmaster." + apex,
		Serial:  z.store.serial(),
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  recordTTL,
	}
}

func header(name string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}
