package allocationrepair

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/claims"
)

type fakeClaims struct {
	mu       sync.Mutex
	list     []claims.Claim
	released chan string // item by owner
	removed  []string
}

func (f *fakeClaims) Release(_ context.Context, item, owner string) error {
	f.released <- owner + " " + item
	return nil
}

func (f *fakeClaims) List(context.Context, string) ([]claims.Claim, error) { return f.list, nil }

func (f *fakeClaims) Remove(_ context.Context, c claims.Claim) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, c.Item)
	return nil
}

func TestReleaseAndSweep(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.7", ClusterIPs: []string{"10.43.0.7"}, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080}}}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.1.0/24", PodCIDRs: []string{"10.42.1.0/24"}}}
	client := fake.NewClientset(web, node)
	old, young := now.Add(-2*grace), now.Add(-grace/2)
	fc := &fakeClaims{released: make(chan string, 8), list: []claims.Claim{
		{Item: "services/ip/10.43.0.7", Owner: "default/web", At: old},       // held
		{Item: "services/port/30080", Owner: "default/web", At: old},         // held
		{Item: "services/port/30081", Owner: "default/web", At: old},         // a port it no longer has
		{Item: "services/ip/10.43.0.9", Owner: "default/refused", At: old},   // a create that failed
		{Item: "services/ip/10.43.0.10", Owner: "default/coming", At: young}, // maybe on its way
		{Item: "nodes/podcidr/10.42.1.0/24", Owner: "n1", At: old},           // held
		{Item: "nodes/podcidr/10.42.2.0/24", Owner: "gone", At: old},         // its node is gone
	}}
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(fc, factory, clocktesting.NewFakePassiveClock(now), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	if err := c.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(fc.removed)
	if want := []string{"nodes/podcidr/10.42.2.0/24", "services/ip/10.43.0.9", "services/port/30081"}; !slices.Equal(fc.removed, want) {
		t.Fatalf("removed %v, want %v", fc.removed, want)
	}

	go c.Run(ctx)
	// The fake clientset does not replay what happened before a watch began: the
	// informers' watches are known to be up once an object made now reaches them.
	if _, err := client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "canary"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "canary"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, errS := c.services.Services("default").Get("canary")
		_, errN := c.nodes.Get("canary")
		return errS == nil && errN == nil, nil
	}); err != nil {
		t.Fatal("the informers' watches did not start")
	}
	if err := client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := []string{<-fc.released, <-fc.released}
	slices.Sort(got)
	if want := []string{"default/web services/ip/10.43.0.7", "default/web services/port/30080"}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if err := client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := <-fc.released; got != "n1 nodes/podcidr/10.42.1.0/24" {
		t.Fatalf("released %v", got)
	}
}
