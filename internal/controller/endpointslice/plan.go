package endpointslice

import (
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// plan is the writes that bring a Service's slices to their desired state.
type plan struct {
	create []*discoveryv1.EndpointSlice // unnamed, to be created with generateName
	update []*discoveryv1.EndpointSlice // changed copies of cached slices, resourceVersion kept
	delete []*discoveryv1.EndpointSlice // cached slices
}

func (p *plan) add(q plan) {
	p.create = append(p.create, q.create...)
	p.update = append(p.update, q.update...)
	p.delete = append(p.delete, q.delete...)
}

// planSlices returns the writes that make svc's slices of address type addrType hold
// exactly the endpoints of groups, at most maxPerSlice a slice. existing are the
// controller's cached slices of svc with that address type; they are not modified.
//
// Endpoints stay in the slice that has them when they can; new ones fill the slices
// being updated anyway, then the unchanged slice they fit best, then new slices. A
// Service with no endpoints keeps one placeholder slice. A slice about to be deleted is
// reused (updated) in place of one about to be created.
func planSlices(svc *corev1.Service, addrType discoveryv1.AddressType, groups map[portKey]*group,
	existing []*discoveryv1.EndpointSlice, maxPerSlice int) plan {
	var p plan
	byPorts := map[portKey][]*discoveryv1.EndpointSlice{}
	for _, s := range byName(existing) {
		if !ownedBy(s, svc) {
			p.delete = append(p.delete, s) // left by an earlier Service of the same name
			continue
		}
		key := keyOfPorts(s.Ports)
		byPorts[key] = append(byPorts[key], s)
	}
	labels := sliceLabels(svc)
	for _, key := range sortedKeys(groups) {
		p.add(planGroup(svc, addrType, labels, groups[key], byPorts[key], maxPerSlice))
	}
	for _, key := range sortedKeys(byPorts) {
		if groups[key] == nil {
			p.delete = append(p.delete, byPorts[key]...)
		}
	}
	if len(p.create) == 0 && len(p.delete) == len(existing) {
		placeholder := newSlice(svc, addrType, nil)
		if len(p.delete) == 1 && samePlaceholder(p.delete[0], placeholder) {
			p.delete = nil
		} else {
			p.create = append(p.create, placeholder)
		}
	}
	for len(p.create) > 0 {
		i := slices.IndexFunc(p.delete, func(s *discoveryv1.EndpointSlice) bool {
			return s.AddressType == addrType && ownedBy(s, svc)
		})
		if i < 0 {
			break
		}
		old, s := p.delete[i], p.create[len(p.create)-1]
		s.Name, s.GenerateName, s.ResourceVersion, s.UID = old.Name, "", old.ResourceVersion, old.UID
		p.delete = slices.Delete(p.delete, i, i+1)
		p.create = p.create[:len(p.create)-1]
		p.update = append(p.update, s)
	}
	return p
}

// planGroup returns the writes for the slices with one port set: existing are those
// slices, g what they should hold.
func planGroup(svc *corev1.Service, addrType discoveryv1.AddressType, labels map[string]string, g *group,
	existing []*discoveryv1.EndpointSlice, maxPerSlice int) plan {
	var p plan
	left := maps.Clone(g.endpoints)
	var unchanged []*discoveryv1.EndpointSlice
	for _, s := range existing {
		kept := make([]discoveryv1.Endpoint, 0, len(s.Endpoints))
		changed := false
		for i := range s.Endpoints {
			have := &s.Endpoints[i]
			k := endpointKey(have)
			want, ok := left[k]
			if !ok || len(kept) >= maxPerSlice {
				changed = true // gone, listed twice, or over the limit: a desired one stays in left
				continue
			}
			if !sameEndpoint(&want, have) {
				changed = true
			}
			kept = append(kept, want)
			delete(left, k)
		}
		switch {
		case changed && len(kept) == 0:
			p.delete = append(p.delete, s)
		case changed || !maps.Equal(s.Labels, labels):
			c := s.DeepCopy()
			c.Endpoints, c.Labels = kept, maps.Clone(labels)
			p.update = append(p.update, c)
		default:
			unchanged = append(unchanged, s)
		}
	}

	keys := sortedKeys(left)
	fill := func(s *discoveryv1.EndpointSlice) {
		for len(keys) > 0 && len(s.Endpoints) < maxPerSlice {
			s.Endpoints = append(s.Endpoints, left[keys[0]])
			keys = keys[1:]
		}
	}
	slices.SortStableFunc(p.update, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(len(b.Endpoints), len(a.Endpoints)) })
	for _, s := range p.update {
		fill(s)
	}
	for len(keys) > 0 {
		var s *discoveryv1.EndpointSlice
		if len(keys) < maxPerSlice {
			if i := bestFit(unchanged, len(keys), maxPerSlice); i >= 0 {
				s = unchanged[i].DeepCopy()
				unchanged = slices.Delete(unchanged, i, i+1)
				p.update = append(p.update, s)
			}
		}
		if s == nil {
			s = newSlice(svc, addrType, g.ports)
			p.create = append(p.create, s)
		}
		fill(s)
	}
	return p
}

// bestFit returns the index of the slice that n more endpoints would bring closest
// to full without passing maxPerSlice, or -1.
func bestFit(candidates []*discoveryv1.EndpointSlice, n, maxPerSlice int) int {
	best, room := -1, maxPerSlice
	for i, s := range candidates {
		if r := maxPerSlice - n - len(s.Endpoints); r >= 0 && r < room {
			best, room = i, r
		}
	}
	return best
}

// sameEndpoint reports whether have already says what want says; the target's
// resourceVersion is ignored.
func sameEndpoint(want, have *discoveryv1.Endpoint) bool {
	if have.TargetRef != nil && have.TargetRef.ResourceVersion != "" {
		have = have.DeepCopy()
		have.TargetRef.ResourceVersion = ""
	}
	return equality.Semantic.DeepEqual(want, have)
}

// samePlaceholder reports whether s can stand for the placeholder slice want.
func samePlaceholder(s, want *discoveryv1.EndpointSlice) bool {
	return s.Namespace == want.Namespace && s.AddressType == want.AddressType &&
		len(s.Endpoints) == 0 && len(s.Ports) == 0 && maps.Equal(s.Labels, want.Labels) &&
		slices.EqualFunc(s.OwnerReferences, want.OwnerReferences, func(a, b metav1.OwnerReference) bool {
			return a.String() == b.String()
		})
}

// byName returns the slices ordered by name.
func byName(in []*discoveryv1.EndpointSlice) []*discoveryv1.EndpointSlice {
	return slices.SortedFunc(slices.Values(in), func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
}
