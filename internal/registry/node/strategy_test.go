package node

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestCreateKeepsStatus(t *testing.T) {
	s := New()
	n := &corev1.Node{Status: corev1.NodeStatus{
		Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")},
		Config:   &corev1.NodeConfigStatus{},
	}}
	s.PrepareForCreate(n)
	s.Default(n)
	if n.Status.Config != nil {
		t.Error("status.config kept on create")
	}
	if got := n.Status.Allocatable[corev1.ResourcePods]; got.String() != "110" {
		t.Errorf("allocatable pods = %s, want 110 copied from capacity", got.String())
	}
}

func TestUpdateAndStatusUpdate(t *testing.T) {
	s := New()
	old := &corev1.Node{
		Spec:   corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24"}},
		Status: corev1.NodeStatus{Phase: corev1.NodeRunning},
	}
	n := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}, Status: corev1.NodeStatus{Phase: corev1.NodePending}}
	s.PrepareForUpdate(n, old)
	if n.Status.Phase != corev1.NodeRunning || !n.Spec.Unschedulable {
		t.Errorf("update: status %q unschedulable %v, want old status and new spec", n.Status.Phase, n.Spec.Unschedulable)
	}
	n = &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}, Status: corev1.NodeStatus{Phase: corev1.NodePending}}
	s.PrepareForStatusUpdate(n, old)
	if n.Status.Phase != corev1.NodePending || n.Spec.Unschedulable {
		t.Errorf("status update: status %q unschedulable %v, want new status and old spec", n.Status.Phase, n.Spec.Unschedulable)
	}
}

func TestValidate(t *testing.T) {
	old := &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24"}, ProviderID: "kind://a"}}
	tests := []struct {
		name string
		node corev1.Node
		want []string
	}{
		{name: "valid", node: corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24"}, ProviderID: "kind://a"}}},
		{
			name: "bad taints",
			node: corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24"}, ProviderID: "kind://a", Taints: []corev1.Taint{
				{Key: "a", Effect: "Sometimes"},
				{Key: "b", Effect: corev1.TaintEffectNoSchedule},
				{Key: "b", Effect: corev1.TaintEffectNoSchedule},
			}}},
			want: []string{"metadata.taints[0].effect", "metadata.taints[2]"},
		},
		{
			name: "changed podCIDRs and providerID",
			node: corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.245.0.0/24"}, ProviderID: "kind://b"}},
			want: []string{"spec.podCIDRs", "spec.providerID"},
		},
		{
			name: "negative capacity",
			node: corev1.Node{
				Spec:   corev1.NodeSpec{PodCIDRs: []string{"10.244.0.0/24"}, ProviderID: "kind://a"},
				Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}},
			},
			want: []string{"status.capacity.cpu"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().ValidateUpdate(&tt.node, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Unschedulable: true}}
	want := fields.Set{"metadata.name": "n1", "spec.unschedulable": "true"}
	if got := New().Fields(n); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestRow(t *testing.T) {
	created := metav1.NewTime(now.Add(-90 * time.Second))
	tests := []struct {
		name string
		node corev1.Node
		want []interface{}
	}{
		{
			name: "ready control plane",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "cp", CreationTimestamp: created, Labels: map[string]string{
					"node-role.kubernetes.io/control-plane": "",
					"node-role.kubernetes.io/":              "",
					"kubernetes.io/role":                    "infra",
				}},
				Status: corev1.NodeStatus{
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
					Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "cp"}, {Type: corev1.NodeInternalIP, Address: "172.18.0.2"}},
					NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.33.0", OSImage: "Debian", KernelVersion: "6.1", ContainerRuntimeVersion: "containerd://2.0"},
				},
			},
			want: []interface{}{"cp", "Ready", "control-plane,infra", "90s", "v1.33.0", "172.18.0.2", "<none>", "Debian", "6.1", "containerd://2.0"},
		},
		{
			name: "not ready and cordoned",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "w", CreationTimestamp: created},
				Spec:       corev1.NodeSpec{Unschedulable: true},
				Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}},
			},
			want: []interface{}{"w", "NotReady,SchedulingDisabled", "<none>", "90s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "no conditions",
			node: corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "new"}},
			want: []interface{}{"new", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Row(&tt.node, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %q\nwant  %q", got, tt.want)
			}
			if len(got) != len(s.Columns()) {
				t.Errorf("%d cells for %d columns", len(got), len(s.Columns()))
			}
		})
	}
}

// fieldsOf returns the field path of every error, in order.
func fieldsOf(errs field.ErrorList) []string {
	var paths []string
	for _, err := range errs {
		paths = append(paths, err.Field)
	}
	return paths
}

// TestPodCIDRFollowsPodCIDRs: podCIDR alone becomes podCIDRs; with both, the list wins,
// so an update of podCIDR alone cannot move a node's pod range (the agents route by it).
func TestPodCIDRFollowsPodCIDRs(t *testing.T) {
	s := New()
	n := &corev1.Node{Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}}
	s.PrepareForCreate(n)
	if !reflect.DeepEqual(n.Spec.PodCIDRs, []string{"10.244.1.0/24"}) {
		t.Errorf("create with podCIDR only: podCIDRs %v", n.Spec.PodCIDRs)
	}
	old := n.DeepCopy()
	n.Spec.PodCIDR = "10.244.9.0/24"
	s.PrepareForUpdate(n, old)
	if n.Spec.PodCIDR != "10.244.1.0/24" || len(s.ValidateUpdate(n, old)) != 0 {
		t.Errorf("update of podCIDR alone: podCIDR %s, errors %v", n.Spec.PodCIDR, s.ValidateUpdate(n, old))
	}
	n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.9.0/24", []string{"10.244.9.0/24"}
	s.PrepareForUpdate(n, old)
	if errs := s.ValidateUpdate(n, old); len(errs) != 1 || errs[0].Field != "spec.podCIDRs" {
		t.Errorf("update of both: %v, want spec.podCIDRs forbidden", errs)
	}
	fresh := &corev1.Node{}
	s.PrepareForUpdate(fresh, &corev1.Node{})
	fresh.Spec.PodCIDR = "10.244.2.0/24"
	s.PrepareForUpdate(fresh, &corev1.Node{})
	if fresh.Spec.PodCIDRs[0] != "10.244.2.0/24" || len(s.ValidateUpdate(fresh, &corev1.Node{})) != 0 {
		t.Errorf("setting podCIDR from empty: %v %v", fresh.Spec.PodCIDRs, s.ValidateUpdate(fresh, &corev1.Node{}))
	}
}
