package lease

import (
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want []string
	}{
		{name: "node heartbeat", spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("n1"), LeaseDurationSeconds: ptr.To[int32](40)}},
		{name: "zero duration", spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0)}, want: []string{"spec.leaseDurationSeconds"}},
		{name: "negative transitions", spec: coordinationv1.LeaseSpec{LeaseTransitions: ptr.To[int32](-1)}, want: []string{"spec.leaseTransitions"}},
		{
			name: "preferred holder without strategy",
			spec: coordinationv1.LeaseSpec{PreferredHolder: ptr.To("a")},
			want: []string{"spec.preferredHolder"},
		},
		{
			name: "unknown strategy",
			spec: coordinationv1.LeaseSpec{Strategy: ptr.To[coordinationv1.CoordinatedLeaseStrategy]("Youngest")},
			want: []string{"spec.strategy.strategy"},
		},
		{name: "prefixed strategy", spec: coordinationv1.LeaseSpec{Strategy: ptr.To[coordinationv1.CoordinatedLeaseStrategy]("example.com/mine")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &coordinationv1.Lease{Spec: tt.spec}
			if got := fieldsOf(New().ValidateUpdate(l, l)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFieldsAndRow(t *testing.T) {
	s := New()
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Namespace: "kube-node-lease", CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Hour))},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("n1")},
	}
	if got, want := s.Fields(l), (fields.Set{"metadata.name": "n1", "metadata.namespace": "kube-node-lease"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	tests := []struct {
		name  string
		lease *coordinationv1.Lease
		want  []interface{}
	}{
		{name: "held", lease: l, want: []interface{}{"n1", "n1", "3h"}},
		{name: "free", lease: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, want: []interface{}{"x", "", "<unknown>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Row(tt.lease, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %q, want %q", got, tt.want)
			}
		})
	}
	if len(s.Columns()) != 3 {
		t.Errorf("%d columns, want 3", len(s.Columns()))
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
