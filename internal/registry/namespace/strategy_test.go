package namespace

import (
	"github.com/podium/podium/internal/registry"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestCreate(t *testing.T) {
	tests := []struct {
		name       string
		finalizers []corev1.FinalizerName
		want       []corev1.FinalizerName
	}{
		{name: "none", want: []corev1.FinalizerName{"kubernetes"}},
		{name: "other", finalizers: []corev1.FinalizerName{"example.com/x"}, want: []corev1.FinalizerName{"example.com/x", "kubernetes"}},
		{name: "already", finalizers: []corev1.FinalizerName{"kubernetes"}, want: []corev1.FinalizerName{"kubernetes"}},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
				Spec:       corev1.NamespaceSpec{Finalizers: tt.finalizers},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
			}
			s.PrepareForCreate(ns)
			s.Default(ns)
			if !reflect.DeepEqual(ns.Spec.Finalizers, tt.want) {
				t.Errorf("finalizers = %v, want %v", ns.Spec.Finalizers, tt.want)
			}
			if ns.Status.Phase != corev1.NamespaceActive {
				t.Errorf("phase = %q, want Active", ns.Status.Phase)
			}
			if got := ns.Labels[corev1.LabelMetadataName]; got != "team-a" {
				t.Errorf("label %s = %q, want team-a", corev1.LabelMetadataName, got)
			}
		})
	}
}

func TestUpdateKeepsFinalizersAndStatus(t *testing.T) {
	s := New()
	old := &corev1.Namespace{
		Spec:   corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	ns := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	s.PrepareForUpdate(ns, old)
	if !reflect.DeepEqual(ns.Spec, old.Spec) || ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("update changed spec or status: %+v", ns)
	}

	fin := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	s.(registry.SubresourceWriter).PrepareForSubresourceUpdate("finalize", fin, old)
	if len(fin.Spec.Finalizers) != 0 || fin.Status.Phase != corev1.NamespaceActive {
		t.Errorf("finalize = %+v, want empty finalizers and old status", fin)
	}
}

func TestValidate(t *testing.T) {
	deleted := metav1.NewTime(now)
	tests := []struct {
		name string
		call func() []string
		want []string
	}{
		{
			name: "standard finalizer",
			call: func() []string {
				return fieldsOf(New().Validate(&corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}))
			},
		},
		{
			name: "unqualified finalizer",
			call: func() []string {
				return fieldsOf(New().Validate(&corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"bogus"}}}))
			},
			want: []string{"spec.finalizers"},
		},
		{
			name: "finalize indexes",
			call: func() []string {
				ns := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes", "bogus"}}}
				return fieldsOf(New().(registry.SubresourceWriter).ValidateSubresourceUpdate("finalize", ns, ns))
			},
			want: []string{"spec.finalizers[1]"},
		},
		{
			name: "status terminating without deletion",
			call: func() []string {
				ns := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
				return fieldsOf(New().ValidateStatusUpdate(ns, ns))
			},
			want: []string{"status.Phase"},
		},
		{
			name: "status terminating with deletion",
			call: func() []string {
				ns := &corev1.Namespace{
					ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
					Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
				}
				return fieldsOf(New().ValidateStatusUpdate(ns, ns))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.call(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	s := New()
	if msgs := s.ValidateName("kube-system", false); len(msgs) != 0 {
		t.Errorf("kube-system: %v", msgs)
	}
	if msgs := s.ValidateName("a.b", false); len(msgs) == 0 {
		t.Error("a.b: want an error, namespaces are DNS labels")
	}
}

func TestFieldsAndRow(t *testing.T) {
	s := New()
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(now.Add(-49 * time.Hour))},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	wantFields := fields.Set{"metadata.name": "default", "status.phase": "Active"}
	if got := s.Fields(ns); !reflect.DeepEqual(got, wantFields) {
		t.Errorf("Fields = %v, want %v", got, wantFields)
	}
	wantRow := []interface{}{"default", "Active", "2d1h"}
	if got := s.Row(ns, now); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("Row = %v, want %v", got, wantRow)
	}
	if n := len(s.Columns()); n != len(wantRow) {
		t.Errorf("%d columns for %d cells", n, len(wantRow))
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
