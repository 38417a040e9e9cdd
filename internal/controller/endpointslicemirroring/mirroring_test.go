package endpointslicemirroring

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

func service(name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Name: "example", Port: 80}}}}
}

func custom(name string, subsets ...corev1.EndpointSubset) *corev1.Endpoints {
	return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-ep-" + name)},
		Subsets: subsets}
}

func subset(port int32, ready ...string) corev1.EndpointSubset {
	ss := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: fmt.Sprintf("p%d", port), Port: port, Protocol: corev1.ProtocolTCP}}}
	for _, ip := range ready {
		ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: ip})
	}
	return ss
}

type harness struct {
	client   *fake.Clientset
	c        *Controller
	recorder *record.FakeRecorder
	eps      cache.Indexer
	svcs     cache.Indexer
	slices   cache.Indexer
}

var slicesResource = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")

// newHarness returns a controller whose caches hold objs, as does the fake API. The
// fake API names slices from their generateName and keeps their generation as the
// real one does.
func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{client: fake.NewClientset(objs...), recorder: record.NewFakeRecorder(10)}
	created := 0
	h.client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice)
		if s.Name == "" {
			created++
			s.Name = fmt.Sprintf("%s%05d", s.GenerateName, created)
		}
		s.UID, s.Generation = types.UID("uid-"+s.Name), 1
		return false, nil, nil
	})
	h.client.PrependReactor("update", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.UpdateAction).GetObject().(*discoveryv1.EndpointSlice)
		old, err := h.client.Tracker().Get(slicesResource, s.Namespace, s.Name)
		if err != nil {
			return true, nil, err
		}
		s.Generation = old.(*discoveryv1.EndpointSlice).Generation + 1
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(h.client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.recorder = h.recorder
	go c.loop.Run(t.Context(), 0) // shuts the queue down when the test ends
	h.c = c
	h.eps = factory.Core().V1().Endpoints().Informer().GetIndexer()
	h.svcs = factory.Core().V1().Services().Informer().GetIndexer()
	h.slices = factory.Discovery().V1().EndpointSlices().Informer().GetIndexer()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			err = h.svcs.Add(o)
		case *corev1.Endpoints:
			err = h.eps.Add(o)
		case *discoveryv1.EndpointSlice:
			err = h.slices.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// refresh makes the slice cache hold what the API holds.
func (h *harness) refresh(t *testing.T) {
	t.Helper()
	var items []any
	for _, s := range h.list(t) {
		items = append(items, s)
	}
	if err := h.slices.Replace(items, ""); err != nil {
		t.Fatal(err)
	}
}

// sync mirrors the Endpoints name with the slice cache caught up with the API.
func (h *harness) sync(t *testing.T, name string) time.Duration {
	t.Helper()
	h.refresh(t)
	again, err := h.c.sync(t.Context(), "ns/"+name)
	if err != nil {
		t.Fatal(err)
	}
	h.refresh(t)
	return again
}

func (h *harness) list(t *testing.T) []*discoveryv1.EndpointSlice {
	t.Helper()
	list, err := h.client.DiscoveryV1().EndpointSlices("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*discoveryv1.EndpointSlice
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	slices.SortFunc(out, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// writes returns the verbs of the writes made to EndpointSlices so far.
func (h *harness) writes() []string {
	var verbs []string
	for _, a := range h.client.Actions() {
		if a.GetResource().Resource == "endpointslices" && slices.Contains([]string{"create", "update", "delete", "patch"}, a.GetVerb()) {
			verbs = append(verbs, a.GetVerb())
		}
	}
	return verbs
}

func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestMirrorsCreateUpdateDelete(t *testing.T) {
	ep := custom("example", corev1.EndpointSubset{
		Addresses: []corev1.EndpointAddress{{IP: "10.1.2.3", Hostname: "a", NodeName: ptr.To("node-1"),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "a"}}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.1.2.4"}},
		Ports:             []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}},
	})
	ep.Labels = map[string]string{"team": "a"}
	ep.Annotations = map[string]string{"note": "x", corev1.EndpointsLastChangeTriggerTime: "2026-03-01T12:00:00Z",
		corev1.LastAppliedConfigAnnotation: "{}"}
	h := newHarness(t, service("example", nil), ep)
	h.sync(t, "example")

	got := h.list(t)
	if len(got) != 1 {
		t.Fatalf("%d slices, want 1", len(got))
	}
	s := got[0].DeepCopy()
	s.TypeMeta, s.ManagedFields = metav1.TypeMeta{}, nil
	want := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, GenerateName: "example-", Namespace: "ns", UID: s.UID, Generation: 1,
			Labels: map[string]string{"team": "a", discoveryv1.LabelServiceName: "example",
				discoveryv1.LabelManagedBy: "endpointslicemirroring-controller.k8s.io"},
			Annotations: map[string]string{"note": "x"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Endpoints", Name: "example",
				UID: "uid-ep-example", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.1.2.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				Hostname: ptr.To("a"), NodeName: ptr.To("node-1"),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "a"}},
			{Addresses: []string{"10.1.2.4"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To[int32](80), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("slice (-want +got):\n%s", diff)
	}

	h.sync(t, "example")
	if w := h.writes(); !slices.Equal(w, []string{"create"}) {
		t.Fatalf("writes %v after a second sync; want the create only", w)
	}

	updated := ep.DeepCopy()
	updated.Subsets[0].Addresses[0].IP = "10.2.3.4"
	if err := h.eps.Update(updated); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "example")
	got = h.list(t)
	if len(got) != 1 || got[0].Name != s.Name || got[0].Endpoints[0].Addresses[0] != "10.1.2.4" ||
		got[0].Endpoints[1].Addresses[0] != "10.2.3.4" {
		t.Fatalf("after the update: %+v", got)
	}

	if err := h.eps.Delete(updated); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "example")
	if got := h.list(t); len(got) != 0 {
		t.Fatalf("%d slices after the Endpoints were deleted", len(got))
	}
	if w := h.writes(); !slices.Equal(w, []string{"create", "update", "delete"}) {
		t.Fatalf("writes %v", w)
	}
}

func TestNotMirrored(t *testing.T) {
	skip := custom("skip", subset(80, "10.0.0.1"))
	skip.Labels = map[string]string{discoveryv1.LabelSkipMirror: "true"}
	leader := custom("leader", subset(80, "10.0.0.1"))
	leader.Annotations = map[string]string{leaderAnnotation: "{}"}
	h := newHarness(t,
		service("skip", nil), skip,
		service("leader", nil), leader,
		service("selected", map[string]string{"app": "web"}), custom("selected", subset(80, "10.0.0.1")),
		custom("no-service", subset(80, "10.0.0.1")),
	)
	for _, name := range []string{"skip", "leader", "selected", "no-service"} {
		h.sync(t, name)
	}
	if w := h.writes(); len(w) != 0 {
		t.Fatalf("writes %v", w)
	}
}

func TestStopsMirroring(t *testing.T) {
	tests := []struct {
		name   string
		change func(h *harness, ep *corev1.Endpoints, svc *corev1.Service) error
	}{
		{"skip-mirror label added", func(h *harness, ep *corev1.Endpoints, _ *corev1.Service) error {
			ep = ep.DeepCopy()
			ep.Labels = map[string]string{discoveryv1.LabelSkipMirror: "true"}
			return h.eps.Update(ep)
		}},
		{"Service gets a selector", func(h *harness, _ *corev1.Endpoints, svc *corev1.Service) error {
			svc = svc.DeepCopy()
			svc.Spec.Selector = map[string]string{"app": "web"}
			return h.svcs.Update(svc)
		}},
		{"Service deleted", func(h *harness, _ *corev1.Endpoints, svc *corev1.Service) error {
			return h.svcs.Delete(svc)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, svc := custom("example", subset(80, "10.0.0.1")), service("example", nil)
			h := newHarness(t, svc, ep)
			h.sync(t, "example")
			if len(h.list(t)) != 1 {
				t.Fatal("not mirrored")
			}
			if err := tt.change(h, ep, svc); err != nil {
				t.Fatal(err)
			}
			h.sync(t, "example")
			if got := h.list(t); len(got) != 0 {
				t.Fatalf("%d slices left", len(got))
			}
		})
	}
}

func TestGroupsByAddressTypeAndPorts(t *testing.T) {
	// The same address in two subsets of different ports: one slice with both ports.
	h := newHarness(t, service("example", nil), custom("example", subset(80, "10.0.0.1"), subset(81, "10.0.0.1")))
	h.sync(t, "example")
	got := h.list(t)
	if len(got) != 1 || len(got[0].Ports) != 2 || len(got[0].Endpoints) != 1 {
		t.Fatalf("slices %+v; want one with both ports", got)
	}

	// IPv4 and IPv6 addresses go to slices of their own; addresses that are not IPs
	// are skipped.
	h = newHarness(t, service("example", nil), custom("example", subset(80, "10.0.0.1", "fd00::0001", "not-an-ip")))
	h.sync(t, "example")
	got = h.list(t)
	if len(got) != 2 {
		t.Fatalf("%d slices, want 2", len(got))
	}
	byType := map[discoveryv1.AddressType]*discoveryv1.EndpointSlice{}
	for _, s := range got {
		byType[s.AddressType] = s
	}
	v4, v6 := byType[discoveryv1.AddressTypeIPv4], byType[discoveryv1.AddressTypeIPv6]
	if v4 == nil || len(v4.Endpoints) != 1 || v4.Endpoints[0].Addresses[0] != "10.0.0.1" {
		t.Errorf("IPv4 slice %+v", v4)
	}
	if v6 == nil || len(v6.Endpoints) != 1 || v6.Endpoints[0].Addresses[0] != "fd00::1" {
		t.Errorf("IPv6 slice %+v; want the address in canonical form", v6)
	}
	if e := h.events(); len(e) != 1 || !strings.HasPrefix(e[0], "Warning InvalidIPAddress Skipped 1 invalid IP addresses") {
		t.Errorf("events %q", e)
	}
}

func TestTooManyAddresses(t *testing.T) {
	var ips []string
	for i := range maxPerSubset + 5 {
		ips = append(ips, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
	}
	h := newHarness(t, service("example", nil), custom("example", subset(80, ips...)))
	h.sync(t, "example")
	got := h.list(t)
	if len(got) != 1 || len(got[0].Endpoints) != maxPerSubset {
		t.Fatalf("%d slices; want one of %d endpoints", len(got), maxPerSubset)
	}
	want := "Warning TooManyAddressesToMirror A max of 1000 addresses can be mirrored to EndpointSlices per Endpoints subset. 5 addresses were skipped"
	if e := h.events(); !slices.Equal(e, []string{want}) {
		t.Fatalf("events %q", e)
	}
}

func TestReusesSlices(t *testing.T) {
	ep := custom("example", subset(80, "10.0.0.1"))
	h := newHarness(t, service("example", nil), ep)
	h.sync(t, "example")
	first := h.list(t)[0].Name
	// New ports make a new group; the old group's slice is rewritten for it.
	moved := custom("example", subset(8080, "10.0.0.1"))
	if err := h.eps.Update(moved); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "example")
	got := h.list(t)
	if len(got) != 1 || got[0].Name != first || *got[0].Ports[0].Port != 8080 {
		t.Fatalf("slices %+v; want %s with port 8080", got, first)
	}
	if w := h.writes(); !slices.Equal(w, []string{"create", "update"}) {
		t.Fatalf("writes %v", w)
	}
}

func TestRemovesDuplicates(t *testing.T) {
	ep := custom("example", subset(80, "10.0.0.1"))
	h := newHarness(t, service("example", nil), ep)
	h.sync(t, "example")
	dup := h.list(t)[0].DeepCopy()
	dup.Name, dup.UID, dup.ResourceVersion = "example-zzz", "uid-dup", ""
	if _, err := h.client.DiscoveryV1().EndpointSlices("ns").Create(t.Context(), dup, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "example")
	got := h.list(t)
	if len(got) != 1 || got[0].Name == "example-zzz" {
		t.Fatalf("slices %+v; want the first only", got)
	}
}

func TestWaitsForOwnWrites(t *testing.T) {
	h := newHarness(t, service("example", nil), custom("example", subset(80, "10.0.0.1")))
	h.sync(t, "example")
	// Back to a cache that has not seen the create: the sync waits instead of
	// creating a second slice.
	if err := h.slices.Replace(nil, ""); err != nil {
		t.Fatal(err)
	}
	again, err := h.c.sync(t.Context(), "ns/example")
	if err != nil || again != staleRetry {
		t.Fatalf("sync on a stale cache: again %v, err %v", again, err)
	}
	if w := h.writes(); !slices.Equal(w, []string{"create"}) {
		t.Fatalf("writes %v", w)
	}
	if again := h.sync(t, "example"); again != 0 {
		t.Fatalf("sync once caught up: again %v", again)
	}
}

func TestSliceEvents(t *testing.T) {
	h := newHarness(t, service("example", nil), custom("example", subset(80, "10.0.0.1")))
	h.sync(t, "example")
	s := h.list(t)[0]
	if h.c.tracker.ChangedByOthers("ns/example", s) {
		t.Error("the controller's own create is taken for someone else's")
	}
	other := s.DeepCopy()
	other.Generation++
	if !h.c.tracker.ChangedByOthers("ns/example", other) {
		t.Error("a later generation is not taken for someone else's change")
	}
	h.c.tracker.Deleted("ns/example", s)
	if !h.c.tracker.Gone("ns/example", s) {
		t.Error("the controller's own delete is taken for someone else's")
	}
	if h.c.tracker.Gone("ns/example", s) {
		t.Error("a delete is expected twice")
	}
}
