package servicelb

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func node(name string, ready corev1.ConditionStatus, addrs ...corev1.NodeAddress) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Addresses: addrs, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
}

func internal(ip string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
}

// TestIngressFollowsReadyNodes: a LoadBalancer Service gets its ready nodes' addresses
// (external before internal), a node turning ready adds its own, a Service of another
// class and a ClusterIP Service get none.
func TestIngressFollowsReadyNodes(t *testing.T) {
	lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.43.0.20"}}
	other := lb.DeepCopy()
	other.Name, other.Spec.LoadBalancerClass = "elsewhere", ptr.To("example.com/lb")
	plain := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.21"}}
	client := fake.NewClientset(lb, other, plain,
		node("a", corev1.ConditionTrue, internal("172.31.253.12")),
		node("b", corev1.ConditionTrue, internal("10.0.0.5"), corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "198.51.100.7"}),
		node("c", corev1.ConditionFalse, internal("172.31.253.13")))
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go c.Run(ctx)

	waitIngress(t, client, "web", "172.31.253.12", "198.51.100.7")
	n, _ := client.CoreV1().Nodes().Get(ctx, "c", metav1.GetOptions{})
	n.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIngress(t, client, "web", "172.31.253.12", "172.31.253.13", "198.51.100.7")
	for _, name := range []string{"elsewhere", "plain"} {
		s, _ := client.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
		if len(s.Status.LoadBalancer.Ingress) != 0 {
			t.Errorf("%s got addresses: %v", name, s.Status.LoadBalancer.Ingress)
		}
	}
}

func waitIngress(t *testing.T, client *fake.Clientset, name string, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := client.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	matches := func(s *corev1.Service) bool {
		if s.Name != name || len(s.Status.LoadBalancer.Ingress) != len(want) {
			return false
		}
		for i, ing := range s.Status.LoadBalancer.Ingress {
			if ing.IP != want[i] {
				return false
			}
		}
		return true
	}
	if s, err := client.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{}); err == nil && matches(s) {
		return
	}
	for {
		select {
		case ev := <-w.ResultChan():
			if s, ok := ev.Object.(*corev1.Service); ok && ev.Type != watch.Deleted && matches(s) {
				return
			}
		case <-ctx.Done():
			s, _ := client.CoreV1().Services("default").Get(context.Background(), name, metav1.GetOptions{})
			t.Fatalf("ingress of %s never %v; last %v", name, want, s.Status.LoadBalancer.Ingress)
		}
	}
}
