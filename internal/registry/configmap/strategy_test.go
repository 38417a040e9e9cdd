package configmap

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cm   corev1.ConfigMap
		want []string
	}{
		{name: "valid", cm: corev1.ConfigMap{Data: map[string]string{"app.conf": "x", ".hidden": "y"}}},
		{name: "bad key", cm: corev1.ConfigMap{Data: map[string]string{"a/b": "x"}}, want: []string{"data[a/b]"}},
		{
			name: "key in both",
			cm:   corev1.ConfigMap{Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": {1}}},
			want: []string{"data[k]"},
		},
		{name: "too big", cm: corev1.ConfigMap{Data: map[string]string{"k": strings.Repeat("x", 1<<20+1)}}, want: []string{"[]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().Validate(&tt.cm)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateUpdateImmutable(t *testing.T) {
	old := &corev1.ConfigMap{Data: map[string]string{"k": "v"}, Immutable: ptr.To(true)}
	tests := []struct {
		name string
		cm   corev1.ConfigMap
		want []string
	}{
		{name: "unchanged", cm: corev1.ConfigMap{Data: map[string]string{"k": "v"}, Immutable: ptr.To(true)}},
		{name: "data changed", cm: corev1.ConfigMap{Data: map[string]string{"k": "w"}, Immutable: ptr.To(true)}, want: []string{"data"}},
		{name: "made mutable", cm: corev1.ConfigMap{Data: map[string]string{"k": "v"}}, want: []string{"immutable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().ValidateUpdate(&tt.cm, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRow(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-10 * 24 * time.Hour))},
		Data:       map[string]string{"ca.crt": "x"},
		BinaryData: map[string][]byte{"b": nil},
	}
	want := []interface{}{"kube-root-ca.crt", int64(2), "10d"}
	s := New()
	if got := s.Row(cm, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %q, want %q", got, want)
	}
	if len(s.Columns()) != len(want) {
		t.Errorf("%d columns for %d cells", len(s.Columns()), len(want))
	}
	if got := s.Fields(cm); len(got) != 2 || got["metadata.namespace"] != "default" {
		t.Errorf("Fields = %v", got)
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
