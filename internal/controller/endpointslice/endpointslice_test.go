package endpointslice

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// TestCreatesSlice checks a slice's metadata, endpoint and ports, and that syncing an
// unchanged Service again writes nothing.
func TestCreatesSlice(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", "zone-a"))
	h.put(h.svcs, service("web", func(s *corev1.Service) {
		s.Labels = map[string]string{"team": "a", discoveryv1.LabelManagedBy: "someone"}
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "grpc", Port: 90, TargetPort: intstr.FromInt32(9090),
			Protocol: corev1.ProtocolTCP, AppProtocol: ptr.To("kubernetes.io/h2c")})
	}))
	h.put(h.pods, pod("web-1", "web", "10.42.0.5", func(p *corev1.Pod) {
		p.Spec.Hostname, p.Spec.Subdomain = "host-1", "web"
	}))
	h.put(h.pods, pod("other", "db", "10.42.0.6"))

	h.sync("ns/web")
	got := h.slicesOf("web")
	if len(got) != 1 {
		t.Fatalf("%d slices, want 1", len(got))
	}
	s := got[0]
	wantLabels := map[string]string{"team": "a", discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: managedBy}
	if s.GenerateName != "web-" || !maps.Equal(s.Labels, wantLabels) || s.AddressType != discoveryv1.AddressTypeIPv4 {
		t.Errorf("generateName %q, labels %v, addressType %s", s.GenerateName, s.Labels, s.AddressType)
	}
	wantRef := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "web", UID: "web-uid",
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if diff := cmp.Diff(wantRef, s.OwnerReferences); diff != "" {
		t.Errorf("ownerReferences (-want +got):\n%s", diff)
	}
	wantEndpoints := []discoveryv1.Endpoint{{
		Addresses:  []string{"10.42.0.5"},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
		Hostname:   ptr.To("host-1"),
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "web-1", UID: "web-1-uid"},
		NodeName:   ptr.To("n1"),
		Zone:       ptr.To("zone-a"),
	}}
	if diff := cmp.Diff(wantEndpoints, s.Endpoints); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	wantPorts := []discoveryv1.EndpointPort{
		{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)},
		{Name: ptr.To("grpc"), Port: ptr.To[int32](9090), Protocol: ptr.To(corev1.ProtocolTCP), AppProtocol: ptr.To("kubernetes.io/h2c")},
	}
	if diff := cmp.Diff(wantPorts, s.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	h.observe()
	h.writes()
	h.sync("ns/web")
	if w := h.writes(); len(w) != 0 {
		t.Errorf("an unchanged Service wrote %v", w)
	}
}

// TestHeadless checks the headless label and that a headless Service without ports
// lists its pods with no ports.
func TestHeadless(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("db", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil }))
	h.put(h.pods, pod("db-0", "db", "10.42.0.7"))
	h.sync("ns/db")
	got := h.slicesOf("db")
	if len(got) != 1 || len(got[0].Ports) != 0 || len(got[0].Endpoints) != 1 || got[0].Endpoints[0].Zone != nil {
		t.Fatalf("slices %+v", got)
	}
	if v, ok := got[0].Labels[corev1.IsHeadlessService]; !ok || v != "" {
		t.Errorf("labels %v, want %s", got[0].Labels, corev1.IsHeadlessService)
	}
}

// TestNamedPorts resolves a named target port per pod: pods with different numbers go
// to different slices, and a pod without the port is listed without it.
func TestNamedPorts(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http") }))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	h.put(h.pods, pod("b", "web", "10.42.0.2"))
	h.put(h.pods, pod("c", "web", "10.42.0.3", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }))
	h.put(h.pods, pod("d", "web", "10.42.0.4", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }))
	h.put(h.pods, pod("e", "web", "10.42.0.5", func(p *corev1.Pod) {
		// A UDP port of that name does not serve a TCP Service port; a sidecar's does.
		p.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolUDP
		p.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 7070, Protocol: corev1.ProtocolTCP}}}}
	}))
	h.sync("ns/web")

	got := map[string][]string{}
	for _, s := range h.slicesOf("web") {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s=%d", *p.Name, *p.Port))
		}
		got[fmt.Sprint(ports)] = targets(s)
	}
	want := map[string][]string{"[http=8080]": {"a", "b"}, "[http=9090]": {"c"}, "[]": {"d"}, "[http=7070]": {"e"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pods by ports (-want +got):\n%s", diff)
	}
}

// TestConditions checks which pods are listed and their conditions.
func TestConditions(t *testing.T) {
	type conds struct{ ready, serving, terminating bool }
	tests := []struct {
		name      string
		pod       *corev1.Pod
		publish   bool
		want      conds
		notListed bool
	}{
		{name: "ready", pod: pod("p", "web", "10.42.0.1"), want: conds{true, true, false}},
		{name: "not ready", pod: pod("p", "web", "10.42.0.1", notReady), want: conds{false, false, false}},
		{name: "terminating ready", pod: pod("p", "web", "10.42.0.1", terminating), want: conds{false, true, true}},
		{name: "terminating not ready", pod: pod("p", "web", "10.42.0.1", terminating, notReady), want: conds{false, false, true}},
		{name: "publish not ready", pod: pod("p", "web", "10.42.0.1", notReady), publish: true, want: conds{true, false, false}},
		{name: "publish terminating", pod: pod("p", "web", "10.42.0.1", terminating), publish: true, want: conds{true, true, true}},
		{name: "no IP", pod: pod("p", "web", "", func(p *corev1.Pod) { p.Status.PodIPs = nil }), notListed: true},
		{name: "succeeded", pod: pod("p", "web", "10.42.0.1", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), notListed: true},
		{name: "failed", pod: pod("p", "web", "10.42.0.1", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), notListed: true},
		{name: "IPv6 only", pod: pod("p", "web", "fd00::1"), notListed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.put(h.nodes, node("n1", ""))
			h.put(h.svcs, service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = tt.publish }))
			h.put(h.pods, tt.pod)
			h.sync("ns/web")
			got := h.slicesOf("web")
			if len(got) != 1 {
				t.Fatalf("%d slices, want 1", len(got))
			}
			if tt.notListed {
				if len(got[0].Endpoints) != 0 {
					t.Fatalf("endpoints %+v, want none", got[0].Endpoints)
				}
				return
			}
			if len(got[0].Endpoints) != 1 {
				t.Fatalf("endpoints %+v, want one", got[0].Endpoints)
			}
			c := got[0].Endpoints[0].Conditions
			if g := (conds{*c.Ready, *c.Serving, *c.Terminating}); g != tt.want {
				t.Errorf("ready, serving, terminating = %v, want %v", g, tt.want)
			}
		})
	}
}

// TestMissingNode leaves a pod whose Node is not known out and asks for a retry,
// unless the Service publishes not-ready addresses.
func TestMissingNode(t *testing.T) {
	h := newHarness(t)
	h.put(h.svcs, service("web"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	if _, err := h.c.sync(t.Context(), "ns/web"); err == nil {
		t.Error("no error for a pod on a missing Node")
	}
	if got := h.slicesOf("web"); len(got) != 1 || len(got[0].Endpoints) != 0 {
		t.Fatalf("slices %+v, want the placeholder", got)
	}
	h.observe()
	h.put(h.svcs, service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }))
	h.sync("ns/web")
	if got := h.slicesOf("web"); len(got) != 1 || len(got[0].Endpoints) != 1 {
		t.Fatalf("slices %+v, want the pod listed", got)
	}
}

// TestManySlices spreads 250 pods over slices of at most 100 and then changes as
// few slices as it can.
func TestManySlices(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web"))
	for i := range 250 {
		h.put(h.pods, pod(fmt.Sprintf("p%03d", i), "web", fmt.Sprintf("10.42.%d.%d", i/200, i%200+1)))
	}
	h.sync("ns/web")
	got := h.slicesOf("web")
	seen := map[string]bool{}
	for _, s := range got {
		if len(s.Endpoints) > maxEndpointsPerSlice {
			t.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
		}
		for _, n := range targets(s) {
			if seen[n] {
				t.Errorf("pod %s listed twice", n)
			}
			seen[n] = true
		}
	}
	if len(got) != 3 || len(seen) != 250 {
		t.Fatalf("%d slices listing %d pods, want 3 and 250", len(got), len(seen))
	}
	h.observe()
	h.writes()

	h.sync("ns/web")
	if w := h.writes(); len(w) != 0 {
		t.Fatalf("unchanged: wrote %v", w)
	}
	// One pod goes and another comes: only the slice that had the gone pod changes.
	var had string
	for _, s := range got {
		if slices.Contains(targets(s), "p007") {
			had = s.Name
		}
	}
	if err := h.pods.Delete(pod("p007", "web", "")); err != nil {
		t.Fatal(err)
	}
	h.put(h.pods, pod("new", "web", "10.42.9.9"))
	h.sync("ns/web")
	if w := h.writes(); !slices.Equal(w, []string{"update " + had}) {
		t.Errorf("writes %v, want only %s updated", w, had)
	}
	for _, s := range h.slicesOf("web") {
		if s.Name == had && (!slices.Contains(targets(s), "new") || slices.Contains(targets(s), "p007")) {
			t.Errorf("%s lists %v", had, targets(s))
		}
	}
}

// TestPodDeleted removes a deleted pod's endpoint; when the last goes, the slice is
// kept as the placeholder.
func TestPodDeleted(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	h.put(h.pods, pod("b", "web", "10.42.0.2"))
	h.settle("ns/web")
	name := h.slicesOf("web")[0].Name

	if err := h.pods.Delete(pod("a", "web", "")); err != nil {
		t.Fatal(err)
	}
	h.sync("ns/web")
	h.observe()
	if got := h.slicesOf("web"); len(got) != 1 || got[0].Name != name || !slices.Equal(targets(got[0]), []string{"b"}) {
		t.Fatalf("slices %+v, want %s with b only", got, name)
	}
	if err := h.pods.Delete(pod("b", "web", "")); err != nil {
		t.Fatal(err)
	}
	h.writes()
	h.sync("ns/web")
	got := h.slicesOf("web")
	if len(got) != 1 || got[0].Name != name || len(got[0].Endpoints) != 0 || len(got[0].Ports) != 0 {
		t.Fatalf("slices %+v, want %s as an empty placeholder", got, name)
	}
	if w := h.writes(); !slices.Equal(w, []string{"update " + name}) {
		t.Errorf("writes %v, want the slice updated in place", w)
	}
}

// TestPlaceholder gives a Service that selects no pods one slice with no endpoints
// and no ports, and writes nothing more.
func TestPlaceholder(t *testing.T) {
	h := newHarness(t)
	h.put(h.svcs, service("web"))
	h.sync("ns/web")
	got := h.slicesOf("web")
	if len(got) != 1 || got[0].Endpoints == nil || len(got[0].Endpoints) != 0 || got[0].Ports == nil || len(got[0].Ports) != 0 {
		t.Fatalf("slices %+v, want one placeholder with empty endpoints and ports", got)
	}
	h.observe()
	h.writes()
	h.sync("ns/web")
	if w := h.writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

// TestNotServed deletes the controller's slices when the selector goes and when the
// Service goes, and never touches another manager's slice.
func TestNotServed(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	other := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-manual", Namespace: "ns", UID: "manual-uid",
			Labels: map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "someone-else"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}}},
	}
	if _, err := h.client.DiscoveryV1().EndpointSlices("ns").Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.settle("ns/web")
	if got := h.slicesOf("web"); len(got) != 2 {
		t.Fatalf("%d slices, want ours and the manual one", len(got))
	}

	h.put(h.svcs, service("web", func(s *corev1.Service) { s.Spec.Selector = nil }))
	h.sync("ns/web")
	if got := h.slicesOf("web"); len(got) != 1 || got[0].Name != "web-manual" {
		t.Fatalf("slices %+v, want only the manual one", got)
	}
	h.observe()
	h.writes()

	// Selector back, then the Service deleted.
	h.put(h.svcs, service("web"))
	h.settle("ns/web")
	if err := h.svcs.Delete(service("web")); err != nil {
		t.Fatal(err)
	}
	h.sync("ns/web")
	h.observe()
	if got := h.slicesOf("web"); len(got) != 1 || got[0].Name != "web-manual" || len(got[0].Endpoints) != 1 {
		t.Fatalf("slices %+v, want only the manual one, untouched", got)
	}
	for _, w := range h.writes() {
		if w == "update web-manual" || w == "delete web-manual" {
			t.Errorf("wrote another manager's slice: %s", w)
		}
	}
}

// TestStaleCache: while the cache does not show its own writes, the controller waits
// instead of writing again, so that it never makes a second slice for the same pods.
func TestStaleCache(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	h.sync("ns/web")
	h.writes()

	h.put(h.pods, pod("b", "web", "10.42.0.2"))
	if again := h.sync("ns/web"); again != staleCacheDelay {
		t.Errorf("delay %v with a stale cache, want %v", again, staleCacheDelay)
	}
	if w := h.writes(); len(w) != 0 {
		t.Fatalf("wrote %v from a stale cache", w)
	}
	h.observe()
	h.sync("ns/web")
	if w := h.writes(); len(w) != 1 || len(h.slicesOf("web")) != 1 {
		t.Fatalf("writes %v, slices %d: want one update of the one slice", w, len(h.slicesOf("web")))
	}

	// An update the cache has not seen (older generation) is stale too; a deletion as well.
	h.put(h.pods, pod("c", "web", "10.42.0.3"))
	if again := h.sync("ns/web"); again != staleCacheDelay {
		t.Errorf("delay %v after an unseen update, want %v", again, staleCacheDelay)
	}
	h.observe()
	h.sync("ns/web")
	h.observe()
	h.put(h.svcs, service("web", func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }))
	h.sync("ns/web") // the IPv4 slice goes, an IPv6 placeholder comes
	h.put(h.svcs, service("web"))
	if again := h.sync("ns/web"); again != staleCacheDelay {
		t.Errorf("delay %v after an unseen deletion, want %v", again, staleCacheDelay)
	}
}

// TestRepair restores a slice edited or deleted by someone else, and the slice
// handlers tell the controller's own writes from others'.
func TestRepair(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	h.settle("ns/web")
	s := h.slicesOf("web")[0]
	if h.c.tracker.ChangedByOthers(serviceKey(&s), &s) {
		t.Error("the controller's own write counts as news")
	}

	edited := s.DeepCopy()
	edited.Endpoints[0].Conditions.Ready = ptr.To(false)
	updated, err := h.client.DiscoveryV1().EndpointSlices("ns").Update(t.Context(), edited, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !h.c.tracker.ChangedByOthers(serviceKey(updated), updated) {
		t.Error("an outside edit does not count as news")
	}
	h.observe()
	h.writes()
	h.sync("ns/web")
	if got := h.slicesOf("web")[0]; !*got.Endpoints[0].Conditions.Ready {
		t.Error("the edit was not undone")
	}

	h.observe()
	if err := h.client.DiscoveryV1().EndpointSlices("ns").Delete(t.Context(), s.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if h.c.tracker.Gone(serviceKey(&s), &s) {
		t.Error("an outside deletion counts as the controller's own")
	}
	h.observe()
	h.sync("ns/web")
	if got := h.slicesOf("web"); len(got) != 1 || !slices.Equal(targets(got[0]), []string{"a"}) {
		t.Fatalf("slices %+v, want the slice made again", got)
	}
}

// TestServiceLabels follows the Service's labels with an update in place.
func TestServiceLabels(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", ""))
	h.put(h.svcs, service("web"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	h.settle("ns/web")
	h.put(h.svcs, service("web", func(s *corev1.Service) { s.Labels = map[string]string{"tier": "front"} }))
	h.sync("ns/web")
	got := h.slicesOf("web")
	if len(got) != 1 || got[0].Labels["tier"] != "front" || len(got[0].Endpoints) != 1 {
		t.Fatalf("slices %+v", got)
	}
	if w := h.writes(); len(w) != 1 || w[0] != "update "+got[0].Name {
		t.Errorf("writes %v, want one update", w)
	}
}

// TestTrafficDistribution gives ready endpoints hints for their zone (and node, for
// PreferSameNode), and removes them when trafficDistribution goes.
func TestTrafficDistribution(t *testing.T) {
	h := newHarness(t)
	h.put(h.nodes, node("n1", "zone-a"))
	h.put(h.pods, pod("a", "web", "10.42.0.1"))
	h.put(h.pods, pod("b", "web", "10.42.0.2", notReady))
	hintsOf := func() map[string]string {
		out := map[string]string{}
		for _, s := range h.slicesOf("web") {
			for _, ep := range s.Endpoints {
				if ep.Hints != nil {
					out[ep.TargetRef.Name] = fmt.Sprint(ep.Hints.ForZones, ep.Hints.ForNodes)
				}
			}
		}
		return out
	}
	for _, tt := range []struct {
		dist *string
		want map[string]string
	}{
		{ptr.To(corev1.ServiceTrafficDistributionPreferClose), map[string]string{"a": "[{zone-a}] []"}},
		{ptr.To(corev1.ServiceTrafficDistributionPreferSameNode), map[string]string{"a": "[{zone-a}] [{n1}]"}},
		{nil, map[string]string{}},
	} {
		h.put(h.svcs, service("web", func(s *corev1.Service) { s.Spec.TrafficDistribution = tt.dist }))
		h.settle("ns/web")
		if diff := cmp.Diff(tt.want, hintsOf()); diff != "" {
			t.Errorf("trafficDistribution %v: hints (-want +got):\n%s", deref(tt.dist), diff)
		}
	}
}

// TestFailedWrite reports a failed write as upstream's event and an error.
func TestFailedWrite(t *testing.T) {
	h := newHarness(t)
	h.client.PrependReactor("create", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(slicesResource.GroupResource(), "", errors.New("quota"))
	})
	h.put(h.svcs, service("web"))
	if _, err := h.c.sync(t.Context(), "ns/web"); err == nil {
		t.Fatal("no error")
	}
	select {
	case e := <-h.events.Events:
		if !strings.HasPrefix(e, "Warning FailedToUpdateEndpointSlices Error updating Endpoint Slices for Service ns/web: ") {
			t.Errorf("event %q", e)
		}
	default:
		t.Error("no event")
	}
}

func TestPlanReusesSlices(t *testing.T) {
	svc := service("web")
	ep := func(name string) discoveryv1.Endpoint {
		return endpointFor(pod(name, "web", "10.42.0."+name[1:]), nil, svc, discoveryv1.AddressTypeIPv4)
	}
	p := pod("x", "web", "")
	ports := endpointPorts(svc, p)
	full := newSlice(svc, discoveryv1.AddressTypeIPv4, ports)
	full.Name, full.UID = "web-full", "full"
	for i := range 99 {
		full.Endpoints = append(full.Endpoints, ep(fmt.Sprintf("p%d", i+1)))
	}
	small := newSlice(svc, discoveryv1.AddressTypeIPv4, ports)
	small.Name, small.UID = "web-small", "small"
	small.Endpoints = []discoveryv1.Endpoint{ep("p200")}

	// All the old endpoints stay and one comes: it goes to the slice it fills best.
	want := group{ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
	for _, s := range []*discoveryv1.EndpointSlice{full, small} {
		for _, e := range s.Endpoints {
			want.endpoints[endpointKey(&e)] = e
		}
	}
	extra := ep("p201")
	want.endpoints[endpointKey(&extra)] = extra
	got := planSlices(svc, discoveryv1.AddressTypeIPv4, map[portKey]*group{keyOfPorts(ports): &want},
		[]*discoveryv1.EndpointSlice{full, small}, maxEndpointsPerSlice)
	if len(got.create) != 0 || len(got.delete) != 0 || len(got.update) != 1 || got.update[0].Name != "web-full" {
		t.Errorf("plan %s, want web-full updated", describe(got))
	}

	// The ports change: the old slices are updated with the new ports, not replaced.
	svc2 := service("web", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(9999) })
	ports2 := endpointPorts(svc2, p)
	moved := group{ports: ports2, endpoints: map[string]discoveryv1.Endpoint{endpointKey(&extra): extra}}
	got = planSlices(svc2, discoveryv1.AddressTypeIPv4, map[portKey]*group{keyOfPorts(ports2): &moved},
		[]*discoveryv1.EndpointSlice{full, small}, maxEndpointsPerSlice)
	if len(got.create) != 0 || len(got.update) != 1 || len(got.delete) != 1 || *got.update[0].Ports[0].Port != 9999 {
		t.Errorf("plan %s, want one slice reused and one deleted", describe(got))
	}
}

func describe(p plan) string {
	names := func(in []*discoveryv1.EndpointSlice) []string {
		var out []string
		for _, s := range in {
			out = append(out, fmt.Sprintf("%s(%d)", s.Name, len(s.Endpoints)))
		}
		return out
	}
	return fmt.Sprintf("create %v update %v delete %v", names(p.create), names(p.update), names(p.delete))
}
