package nodeipam

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestAllocate(t *testing.T) {
	var nodes []*corev1.Node
	a, err := New("10.42.0.0/23", func() []*corev1.Node { return nodes }, clocktesting.NewFakePassiveClock(time.Now()))
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

// TestFailedCreateGivesBack: a range handed to a Node whose create then failed (it never
// shows in the list) is free again once pendingFor has passed, and not before.
func TestFailedCreateGivesBack(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	a, err := New("10.42.0.0/24", func() []*corev1.Node { return nil }, clk)
	if err != nil {
		t.Fatal(err)
	}
	failed := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "failed"}}
	if err := a.AdmitCreate(context.Background(), failed); err != nil || failed.Spec.PodCIDR != "10.42.0.0/24" {
		t.Fatalf("first: %v %s", err, failed.Spec.PodCIDR)
	}
	next := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "next"}}
	if err := a.AdmitCreate(context.Background(), next); err == nil {
		t.Fatal("the range of a create in flight was handed out twice")
	}
	clk.SetTime(clk.Now().Add(pendingFor + time.Second))
	if err := a.AdmitCreate(context.Background(), next); err != nil || next.Spec.PodCIDR != "10.42.0.0/24" {
		t.Fatalf("after the failed create: %v %q, want its range", err, next.Spec.PodCIDR)
	}
}
