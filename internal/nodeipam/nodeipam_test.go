package nodeipam

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAllocate(t *testing.T) {
	var nodes []*corev1.Node
	a, err := New("10.42.0.0/23", func() []*corev1.Node { return nodes })
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	n1, n2, n3 := mk("n1"), mk("n2"), mk("n3")
	for _, n := range []*corev1.Node{n1, n2} {
		if err := a.AdmitCreate(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	if n1.Spec.PodCIDR != "10.42.0.0/24" || n2.Spec.PodCIDR != "10.42.1.0/24" || len(n2.Spec.PodCIDRs) != 1 {
		t.Fatalf("cidrs: %s %s", n1.Spec.PodCIDR, n2.Spec.PodCIDR)
	}
	if err := a.AdmitCreate(context.Background(), n3); err == nil {
		t.Fatal("allocated from a full range")
	}
	nodes = nodes[1:] // n1 deleted: its range is free again
	if err := a.AdmitCreate(context.Background(), n3); err != nil || n3.Spec.PodCIDR != "10.42.0.0/24" {
		t.Fatalf("reuse: %v %s", err, n3.Spec.PodCIDR)
	}
	own := mk("n4")
	own.Spec.PodCIDR = "10.99.0.0/24"
	if err := a.AdmitCreate(context.Background(), own); err != nil || own.Spec.PodCIDR != "10.99.0.0/24" {
		t.Fatalf("a node's own cidr was changed: %v", own.Spec.PodCIDR)
	}
}
