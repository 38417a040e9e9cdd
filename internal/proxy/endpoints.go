package proxy

import (
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// endpoint is one address and port of a Service port, with its state.
type endpoint struct {
	ip          string
	port        int32
	local       bool // on this node
	ready       bool
	serving     bool
	terminating bool
}

// endpointsOf returns the IPv4 endpoints of Service port sp found in slices (the
// Service's own), each address and port once, sorted by address.
func endpointsOf(slices []*discoveryv1.EndpointSlice, sp *corev1.ServicePort, node string) []endpoint {
	seen := map[netip.AddrPort]int{}
	var out []endpoint
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		port, ok := slicePort(s, sp)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			e := &s.Endpoints[i]
			if len(e.Addresses) == 0 {
				continue
			}
			addr, err := netip.ParseAddr(e.Addresses[0])
			if err != nil || !addr.Is4() {
				continue
			}
			// Unset conditions mean ready and serving, and not terminating (the API's
			// documented defaults).
			ep := endpoint{ip: addr.String(), port: port, ready: isTrue(e.Conditions.Ready, true),
				terminating: isTrue(e.Conditions.Terminating, false),
				local:       e.NodeName != nil && *e.NodeName == node}
			ep.serving = isTrue(e.Conditions.Serving, ep.ready)
			key := netip.AddrPortFrom(addr, uint16(port))
			if j, dup := seen[key]; dup {
				// The same endpoint in two slices (a move between slices): the
				// readier of the two counts.
				if ep.ready && !out[j].ready {
					out[j] = ep
				}
				continue
			}
			seen[key] = len(out)
			out = append(out, ep)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := netip.MustParseAddr(out[i].ip), netip.MustParseAddr(out[j].ip)
		if a != b {
			return a.Less(b)
		}
		return out[i].port < out[j].port
	})
	return out
}

// slicePort finds the slice's port for sp: the one of the same name and protocol.
func slicePort(s *discoveryv1.EndpointSlice, sp *corev1.ServicePort) (int32, bool) {
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name == sp.Name && proto == sp.Protocol && p.Port != nil && *p.Port > 0 {
			return *p.Port, true
		}
	}
	return 0, false
}

func isTrue(b *bool, unset bool) bool {
	if b == nil {
		return unset
	}
	return *b
}

// usable picks the endpoints traffic may go to: the ready ones or, when none is ready,
// the serving terminating ones (a rollout's last pods keep serving until they stop).
func usable(eps []endpoint) []endpoint {
	var ready, draining []endpoint
	for _, e := range eps {
		switch {
		case e.ready:
			ready = append(ready, e)
		case e.serving && e.terminating:
			draining = append(draining, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return draining
}

// localOnly keeps the endpoints on this node.
func localOnly(eps []endpoint) []endpoint {
	var out []endpoint
	for _, e := range eps {
		if e.local {
			out = append(out, e)
		}
	}
	return out
}
