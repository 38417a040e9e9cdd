package endpoints

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func service(name string, mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"team": "a"},
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": "web"},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func pod(name, ip string, ready bool, mut ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			Labels: map[string]string{"app": "web"}, ResourceVersion: "1"},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(t0)}}},
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func address(name, ip string) corev1.EndpointAddress {
	return corev1.EndpointAddress{IP: ip, NodeName: ptr.To("node-1"),
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID("uid-" + name)}}
}

func port(name string, n int32) corev1.EndpointPort {
	return corev1.EndpointPort{Name: name, Port: n, Protocol: corev1.ProtocolTCP}
}

type harness struct {
	client *fake.Clientset
	c      *Controller
	svcs   cache.Indexer
	pods   cache.Indexer
	eps    cache.Indexer
}

// newHarness returns a controller whose caches hold objs, as does the fake API.
func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{client: fake.NewClientset(objs...)}
	factory := informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(h.client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go c.loop.Run(t.Context(), 0) // shuts the queue down when the test ends
	h.c = c
	h.svcs = factory.Core().V1().Services().Informer().GetIndexer()
	h.pods = factory.Core().V1().Pods().Informer().GetIndexer()
	h.eps = factory.Core().V1().Endpoints().Informer().GetIndexer()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			err = h.svcs.Add(o)
		case *corev1.Pod:
			err = h.pods.Add(o)
		case *corev1.Endpoints:
			err = h.eps.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// sync syncs the Service name with the Endpoints cache caught up with the API, and
// then lets it catch up again.
func (h *harness) sync(t *testing.T, name string) {
	t.Helper()
	h.refresh(t)
	if _, err := h.c.sync(t.Context(), "ns/"+name); err != nil {
		t.Fatal(err)
	}
	h.refresh(t)
}

func (h *harness) refresh(t *testing.T) {
	t.Helper()
	list, err := h.client.CoreV1().Endpoints("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var items []any
	for i := range list.Items {
		items = append(items, &list.Items[i])
	}
	if err := h.eps.Replace(items, ""); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) endpoints(t *testing.T, name string) *corev1.Endpoints {
	t.Helper()
	ep, err := h.client.CoreV1().Endpoints("ns").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// writes returns the verbs of the writes made to Endpoints so far.
func (h *harness) writes() []string {
	var verbs []string
	for _, a := range h.client.Actions() {
		if a.GetResource().Resource == "endpoints" && slices.Contains([]string{"create", "update", "delete", "patch"}, a.GetVerb()) {
			verbs = append(verbs, a.GetVerb())
		}
	}
	return verbs
}

func TestSubsets(t *testing.T) {
	terminating := func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.NewTime(t0)) }
	pods := []runtime.Object{
		pod("ready", "10.0.0.1", true),
		pod("unready", "10.0.0.2", false),
		pod("terminating", "10.0.0.3", true, terminating),
		pod("succeeded", "10.0.0.4", false, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		pod("no-ip", "", true, func(p *corev1.Pod) { p.Status.PodIPs = nil }),
		pod("other", "10.0.0.6", true, func(p *corev1.Pod) { p.Labels = map[string]string{"app": "db"} }),
		pod("ipv6-only", "fd00::7", true),
	}
	tests := []struct {
		name string
		svc  *corev1.Service
		want []corev1.EndpointSubset
	}{
		{
			name: "ready and not ready",
			svc:  service("web"),
			want: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{address("ready", "10.0.0.1")},
				NotReadyAddresses: []corev1.EndpointAddress{address("unready", "10.0.0.2")},
				Ports:             []corev1.EndpointPort{port("http", 8080)},
			}},
		},
		{
			name: "publishNotReadyAddresses lists all, terminating too",
			svc:  service("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			want: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{address("ready", "10.0.0.1"), address("unready", "10.0.0.2"),
					address("terminating", "10.0.0.3")},
				Ports: []corev1.EndpointPort{port("http", 8080)},
			}},
		},
		{
			name: "headless without ports",
			svc: service("web", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil
			}),
			want: []corev1.EndpointSubset{{
				Addresses:         []corev1.EndpointAddress{address("ready", "10.0.0.1")},
				NotReadyAddresses: []corev1.EndpointAddress{address("unready", "10.0.0.2")},
			}},
		},
		{
			name: "not headless without ports lists nothing",
			svc:  service("web", func(s *corev1.Service) { s.Spec.Ports = nil }),
			want: []corev1.EndpointSubset{},
		},
		{
			name: "IPv6 service",
			svc: service("web", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.IPFamilies = "fd00:96::10", []corev1.IPFamily{corev1.IPv6Protocol}
			}),
			want: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{address("ipv6-only", "fd00::7")},
				Ports:     []corev1.EndpointPort{port("http", 8080)},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, append([]runtime.Object{tt.svc}, pods...)...)
			h.sync(t, "web")
			if diff := cmp.Diff(tt.want, h.endpoints(t, "web").Subsets); diff != "" {
				t.Fatalf("subsets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamedPortsAndRepacking(t *testing.T) {
	svc := service("web", func(s *corev1.Service) {
		s.Spec.Ports = []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")},
			{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)},
		}
	})
	withHTTP := func(n int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = n }
	}
	h := newHarness(t, svc,
		pod("a1", "10.0.0.1", true),
		pod("a2", "10.0.0.2", true),
		pod("b", "10.0.0.3", true, withHTTP(8081)),
		pod("udp", "10.0.0.4", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolUDP }),
		pod("sidecar", "10.0.0.5", false, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}
			p.Spec.Containers[0].Ports = nil
		}),
	)
	h.sync(t, "web")
	want := []corev1.EndpointSubset{
		{
			Addresses:         []corev1.EndpointAddress{address("a1", "10.0.0.1"), address("a2", "10.0.0.2")},
			NotReadyAddresses: []corev1.EndpointAddress{address("sidecar", "10.0.0.5")},
			Ports:             []corev1.EndpointPort{port("http", 8080)},
		},
		{
			Addresses: []corev1.EndpointAddress{address("b", "10.0.0.3")},
			Ports:     []corev1.EndpointPort{port("http", 8081)},
		},
		{
			Addresses: []corev1.EndpointAddress{address("a1", "10.0.0.1"), address("a2", "10.0.0.2"),
				address("b", "10.0.0.3"), address("udp", "10.0.0.4")},
			NotReadyAddresses: []corev1.EndpointAddress{address("sidecar", "10.0.0.5")},
			Ports:             []corev1.EndpointPort{port("metrics", 9090)},
		},
	}
	if diff := cmp.Diff(want, h.endpoints(t, "web").Subsets); diff != "" {
		t.Fatalf("subsets (-want +got):\n%s", diff)
	}
}

func TestRepackSubsets(t *testing.T) {
	a, b := address("a", "10.0.0.1"), address("b", "10.0.0.2")
	got := RepackSubsets([]corev1.EndpointSubset{
		{Addresses: []corev1.EndpointAddress{b}, Ports: []corev1.EndpointPort{port("y", 2)}},
		{Addresses: []corev1.EndpointAddress{a, b}, Ports: []corev1.EndpointPort{port("x", 1)}},
		{NotReadyAddresses: []corev1.EndpointAddress{b}, Ports: []corev1.EndpointPort{port("y", 2)}},
		{Addresses: []corev1.EndpointAddress{a}, Ports: []corev1.EndpointPort{port("y", 2)}},
		{Addresses: []corev1.EndpointAddress{b}, Ports: []corev1.EndpointPort{port("z", 3)}},
		{Addresses: []corev1.EndpointAddress{a}, Ports: []corev1.EndpointPort{port("z", 3)}},
	})
	want := []corev1.EndpointSubset{
		// x and z: both addresses ready.
		{Addresses: []corev1.EndpointAddress{a, b}, Ports: []corev1.EndpointPort{port("x", 1), port("z", 3)}},
		// y: b is not ready on it in one subset, and not ready wins.
		{Addresses: []corev1.EndpointAddress{a}, NotReadyAddresses: []corev1.EndpointAddress{b},
			Ports: []corev1.EndpointPort{port("y", 2)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestHostname(t *testing.T) {
	h := newHarness(t, service("web"),
		pod("named", "10.0.0.1", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "named", "web" }),
		pod("elsewhere", "10.0.0.2", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "elsewhere", "other" }),
	)
	h.sync(t, "web")
	addrs := h.endpoints(t, "web").Subsets[0].Addresses
	if addrs[0].TargetRef.Name != "named" || addrs[0].Hostname != "named" || addrs[1].Hostname != "" {
		t.Fatalf("addresses %+v", addrs)
	}
}

func TestMetadata(t *testing.T) {
	headless := service("web", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })
	h := newHarness(t, headless, pod("a", "10.0.0.1", true))
	h.sync(t, "web")
	ep := h.endpoints(t, "web")
	if diff := cmp.Diff(map[string]string{"team": "a", corev1.IsHeadlessService: ""}, ep.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	// The earliest change not yet written: the Service's creation here.
	if got, want := ep.Annotations[corev1.EndpointsLastChangeTriggerTime], t0.Add(-time.Hour).Format(time.RFC3339Nano); got != want {
		t.Errorf("trigger time %q, want %q", got, want)
	}
	if _, ok := ep.Annotations[corev1.EndpointsOverCapacity]; ok {
		t.Errorf("over-capacity annotation on %d addresses", len(ep.Subsets[0].Addresses))
	}

	// A pod turning ready later is the next trigger.
	later := t0.Add(time.Minute)
	b := pod("b", "10.0.0.2", true, func(p *corev1.Pod) { p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(later) })
	if err := h.pods.Add(b); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "web")
	if got := h.endpoints(t, "web").Annotations[corev1.EndpointsLastChangeTriggerTime]; got != later.Format(time.RFC3339Nano) {
		t.Errorf("trigger time after a pod change %q, want %q", got, later.Format(time.RFC3339Nano))
	}
}

func TestOverCapacity(t *testing.T) {
	objs := []runtime.Object{service("web")}
	for i := range maxAddresses + 5 {
		objs = append(objs, pod(fmt.Sprintf("p%04d", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), i%2 == 0))
	}
	h := newHarness(t, objs...)
	h.sync(t, "web")
	ep := h.endpoints(t, "web")
	ready, notReady := 0, 0
	for _, ss := range ep.Subsets {
		ready += len(ss.Addresses)
		notReady += len(ss.NotReadyAddresses)
	}
	// 503 ready pods are all kept; the not-ready ones fill the rest.
	if ready != 503 || notReady != maxAddresses-503 || ep.Annotations[corev1.EndpointsOverCapacity] != truncated {
		t.Fatalf("ready %d, not ready %d, annotations %v", ready, notReady, ep.Annotations)
	}
	h.sync(t, "web")
	if got := h.writes(); !slices.Equal(got, []string{"create"}) {
		t.Fatalf("writes %v after a second sync over capacity; want the create only", got)
	}

	for i := range 10 {
		if err := h.pods.Delete(objs[1+i]); err != nil {
			t.Fatal(err)
		}
	}
	h.sync(t, "web")
	if _, ok := h.endpoints(t, "web").Annotations[corev1.EndpointsOverCapacity]; ok {
		t.Fatal("over-capacity annotation kept under capacity")
	}
}

func TestTruncate(t *testing.T) {
	addrs := func(prefix string, n int) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for i := range n {
			out = append(out, corev1.EndpointAddress{IP: fmt.Sprintf("%s.%d.%d", prefix, i/250, i%250)})
		}
		return out
	}
	tests := []struct {
		name                  string
		subsets               []corev1.EndpointSubset
		wantReady, wantUnread []int
	}{
		{"ready over capacity: not ready dropped, ready shared in proportion",
			[]corev1.EndpointSubset{
				{Addresses: addrs("10.0", 1500), NotReadyAddresses: addrs("10.1", 10)},
				{Addresses: addrs("10.2", 500)},
			}, []int{750, 250}, []int{0, 0}},
		{"not ready cut, ready kept",
			[]corev1.EndpointSubset{
				{Addresses: addrs("10.0", 600), NotReadyAddresses: addrs("10.1", 300)},
				{Addresses: addrs("10.2", 100), NotReadyAddresses: addrs("10.3", 300)},
			}, []int{600, 100}, []int{150, 150}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !truncate(tt.subsets) {
				t.Fatal("not truncated")
			}
			for i, ss := range tt.subsets {
				if len(ss.Addresses) != tt.wantReady[i] || len(ss.NotReadyAddresses) != tt.wantUnread[i] {
					t.Errorf("subset %d: %d ready, %d not ready; want %d, %d", i, len(ss.Addresses),
						len(ss.NotReadyAddresses), tt.wantReady[i], tt.wantUnread[i])
				}
			}
		})
	}
}

func TestNoWriteWhenUnchanged(t *testing.T) {
	h := newHarness(t, service("web"), pod("a", "10.0.0.1", true), pod("b", "10.0.0.2", false))
	h.sync(t, "web")
	h.sync(t, "web")
	if got := h.writes(); !slices.Equal(got, []string{"create"}) {
		t.Fatalf("writes %v; want one create", got)
	}
	// A pod update that does not move its endpoints writes nothing either.
	a := pod("a", "10.0.0.1", true, func(p *corev1.Pod) {
		p.ResourceVersion, p.Annotations = "2", map[string]string{"x": "y"}
	})
	if err := h.pods.Update(a); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "web")
	if got := h.writes(); len(got) != 1 {
		t.Fatalf("writes %v after an unrelated pod change", got)
	}
	// b turning ready does.
	if err := h.pods.Update(pod("b", "10.0.0.2", true)); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "web")
	if got := h.writes(); !slices.Equal(got, []string{"create", "update"}) {
		t.Fatalf("writes %v; want create, update", got)
	}
	if addrs := h.endpoints(t, "web").Subsets[0].Addresses; len(addrs) != 2 {
		t.Fatalf("ready addresses %v", addrs)
	}
	// Service labels are copied when they change.
	svc := service("web", func(s *corev1.Service) { s.Labels = map[string]string{"team": "b"} })
	if err := h.svcs.Update(svc); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "web")
	if got := h.endpoints(t, "web").Labels["team"]; got != "b" {
		t.Fatalf("label team=%q after the Service's changed", got)
	}
}

func TestDeletedWithService(t *testing.T) {
	svc := service("web")
	h := newHarness(t, svc, pod("a", "10.0.0.1", true))
	h.sync(t, "web")
	if err := h.svcs.Delete(svc); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "web")
	if _, err := h.client.CoreV1().Endpoints("ns").Get(t.Context(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Endpoints of a deleted Service: %v", err)
	}
	h.sync(t, "web") // already gone: nothing to do, no error
}

func TestLeavesUserEndpoints(t *testing.T) {
	user := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "custom", Namespace: "ns"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.9.9.9"}}}}}
	noSelector := service("custom", func(s *corev1.Service) { s.Spec.Selector = nil })
	external := service("ext", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName })
	h := newHarness(t, noSelector, external, user, pod("a", "10.0.0.1", true))
	h.sync(t, "custom")
	h.sync(t, "ext")
	if got := h.writes(); len(got) != 0 {
		t.Fatalf("writes %v for Services the controller does not manage", got)
	}
}

func TestRepairsManagedEndpoints(t *testing.T) {
	h := newHarness(t, service("web"), pod("a", "10.0.0.1", true))
	h.sync(t, "web")
	ep := h.endpoints(t, "web")
	ep.Subsets = nil
	if _, err := h.client.CoreV1().Endpoints("ns").Update(t.Context(), ep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync(t, "web")
	if got := h.endpoints(t, "web").Subsets; len(got) != 1 {
		t.Fatalf("subsets %v after repair", got)
	}
}

func TestSelecting(t *testing.T) {
	h := newHarness(t, service("web"), service("all", func(s *corev1.Service) { s.Spec.Selector = nil }),
		service("db", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "db"} }))
	if got := h.c.selecting(pod("a", "10.0.0.1", true)); !slices.Equal(got, []string{"ns/web"}) {
		t.Fatalf("selecting %v; want ns/web only", got)
	}
}

func TestWaitsForOwnWrite(t *testing.T) {
	h := newHarness(t, service("web"), pod("a", "10.0.0.1", true))
	h.sync(t, "web")
	h.client.PrependReactor("update", "endpoints", func(a k8stesting.Action) (bool, runtime.Object, error) {
		a.(k8stesting.UpdateAction).GetObject().(*corev1.Endpoints).ResourceVersion = "11"
		return false, nil, nil
	})
	if err := h.pods.Add(pod("b", "10.0.0.2", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	// Another change arrives before the cache has seen the update: the cached object
	// is the one replaced, so the sync waits for the update's event.
	if err := h.pods.Add(pod("c", "10.0.0.3", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.sync(t.Context(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if got := h.writes(); !slices.Equal(got, []string{"create", "update"}) {
		t.Fatalf("writes %v on a stale cache; want create, update", got)
	}
	h.sync(t, "web")
	if got := h.writes(); !slices.Equal(got, []string{"create", "update", "update"}) {
		t.Fatalf("writes %v once the cache caught up", got)
	}
	if addrs := h.endpoints(t, "web").Subsets[0].Addresses; len(addrs) != 3 {
		t.Fatalf("addresses %v", addrs)
	}
}
