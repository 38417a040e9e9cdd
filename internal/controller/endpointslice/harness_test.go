package endpointslice

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

var slicesResource = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")

// harness runs the controller's sync against a fake API without starting informers:
// services, pods and nodes are put in the informer stores directly, and observe copies
// the API's slices into the slice store, as a watch would, so that every step is
// deterministic.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	c      *Controller
	events *record.FakeRecorder
	svcs   cache.Store
	pods   cache.Store
	nodes  cache.Store
	slices cache.Store
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(), events: record.NewFakeRecorder(100)}
	stampSlices(h.client)
	factory := informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(h.client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.recorder = h.events
	h.c = c
	h.svcs = factory.Core().V1().Services().Informer().GetStore()
	h.pods = factory.Core().V1().Pods().Informer().GetStore()
	h.nodes = factory.Core().V1().Nodes().Informer().GetStore()
	h.slices = factory.Discovery().V1().EndpointSlices().Informer().GetStore()
	return h
}

// stampSlices makes the fake API name created slices from generateName, give them a
// UID and generation 1, and bump the generation on update, as the API server does.
func stampSlices(client *fake.Clientset) {
	n := 0
	client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice)
		if s.Name == "" {
			n++
			s.Name = fmt.Sprintf("%s%03d", s.GenerateName, n)
		}
		s.UID = types.UID("uid-" + s.Name)
		s.Generation = 1
		return false, nil, nil
	})
	client.PrependReactor("update", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.UpdateAction).GetObject().(*discoveryv1.EndpointSlice)
		if old, err := client.Tracker().Get(slicesResource, s.Namespace, s.Name); err == nil {
			s.Generation = old.(*discoveryv1.EndpointSlice).Generation + 1
		}
		return false, nil, nil
	})
}

func (h *harness) put(store cache.Store, obj any) {
	h.t.Helper()
	if err := store.Update(obj); err != nil {
		h.t.Fatal(err)
	}
}

// sync syncs the Service key and returns the delay it asked for.
func (h *harness) sync(key string) time.Duration {
	h.t.Helper()
	again, err := h.c.sync(h.t.Context(), key)
	if err != nil {
		h.t.Fatalf("sync %s: %v", key, err)
	}
	return again
}

// observe makes the slice cache show what the API holds.
func (h *harness) observe() {
	h.t.Helper()
	list, err := h.client.DiscoveryV1().EndpointSlices("").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var objs []any
	for i := range list.Items {
		objs = append(objs, &list.Items[i])
	}
	if err := h.slices.Replace(objs, ""); err != nil {
		h.t.Fatal(err)
	}
}

// settle syncs key and lets the cache catch up until a sync writes nothing.
func (h *harness) settle(key string) {
	h.t.Helper()
	for range 5 {
		h.writes()
		h.sync(key)
		h.observe()
		if len(h.writes()) == 0 {
			return
		}
	}
	h.t.Fatalf("%s does not settle", key)
}

// writes returns the slice writes made since the last call.
func (h *harness) writes() []string {
	var out []string
	for _, a := range h.client.Actions() {
		if a.GetResource() != slicesResource {
			continue
		}
		switch a.GetVerb() {
		case "create", "update":
			obj := a.(k8stesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice)
			out = append(out, a.GetVerb()+" "+obj.Name)
		case "delete":
			out = append(out, "delete "+a.(k8stesting.DeleteAction).GetName())
		}
	}
	h.client.ClearActions()
	return out
}

// slicesOf returns the API's slices labelled for the Service name, by name.
func (h *harness) slicesOf(name string) []discoveryv1.EndpointSlice {
	h.t.Helper()
	list, err := h.client.DiscoveryV1().EndpointSlices("ns").List(h.t.Context(),
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		h.t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	return list.Items
}

// targets returns the names of the pods a slice lists, in order.
func targets(s discoveryv1.EndpointSlice) []string {
	var out []string
	for _, ep := range s.Endpoints {
		out = append(out, ep.TargetRef.Name)
	}
	slices.Sort(out)
	return out
}

func service(name string, mut ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid")},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": name},
			ClusterIP:  "10.43.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080),
				Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

func node(name, zone string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if zone != "" {
		n.Labels = map[string]string{corev1.LabelTopologyZone: zone}
	}
	return n
}

// pod returns a ready, running pod of the app with the IP, on node n1.
func pod(name, app, ip string, mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func terminating(p *corev1.Pod) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p.DeletionTimestamp = &now
}
