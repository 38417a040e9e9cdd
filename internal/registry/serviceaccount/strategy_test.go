package serviceaccount

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestPrepareKeepsSecretNames(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(obj *corev1.ServiceAccount)
	}{
		{name: "create", prepare: func(sa *corev1.ServiceAccount) { New().PrepareForCreate(sa) }},
		{name: "update", prepare: func(sa *corev1.ServiceAccount) { New().PrepareForUpdate(sa, &corev1.ServiceAccount{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa := &corev1.ServiceAccount{Secrets: []corev1.ObjectReference{{Name: "tok", Namespace: "x", Kind: "Secret", UID: "u"}}}
			tt.prepare(sa)
			if want := []corev1.ObjectReference{{Name: "tok"}}; !reflect.DeepEqual(sa.Secrets, want) {
				t.Errorf("secrets = %+v, want %+v", sa.Secrets, want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"my.sa", true},
		{"Bad", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msgs := New().ValidateName(tt.name, false); (len(msgs) == 0) != tt.ok {
				t.Errorf("ValidateName(%q) = %v, want ok %v", tt.name, msgs, tt.ok)
			}
		})
	}
}

func TestFieldsAndRow(t *testing.T) {
	s := New()
	sa := &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "web", CreationTimestamp: metav1.NewTime(now.Add(-30 * time.Second))},
		Secrets:    []corev1.ObjectReference{{Name: "a"}},
	}
	if got, want := s.Fields(sa), (fields.Set{"metadata.name": "default", "metadata.namespace": "web"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	want := []interface{}{"default", int64(1), "30s"}
	if got := s.Row(sa, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %q, want %q", got, want)
	}
	if len(s.Columns()) != len(want) {
		t.Errorf("%d columns for %d cells", len(s.Columns()), len(want))
	}
}
