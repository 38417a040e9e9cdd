package secret

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestDefault(t *testing.T) {
	tests := []struct {
		name   string
		secret corev1.Secret
		want   corev1.Secret
	}{
		{name: "opaque", secret: corev1.Secret{}, want: corev1.Secret{Type: corev1.SecretTypeOpaque}},
		{
			name:   "stringData wins",
			secret: corev1.Secret{Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"username": []byte("a"), "password": []byte("p")}, StringData: map[string]string{"username": "b"}},
			want:   corev1.Secret{Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"username": []byte("b"), "password": []byte("p")}},
		},
		{
			name:   "stringData only",
			secret: corev1.Secret{StringData: map[string]string{"k": "v"}},
			want:   corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			New().Default(&tt.secret)
			if !reflect.DeepEqual(tt.secret, tt.want) {
				t.Errorf("got %+v, want %+v", tt.secret, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		secret corev1.Secret
		want   []string
	}{
		{name: "opaque", secret: corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a.b": nil}}},
		{name: "bad key", secret: corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a b": nil}}, want: []string{"data[a b]"}},
		{name: "too big", secret: corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte(strings.Repeat("x", 1<<20+1))}}, want: []string{"data"}},
		{name: "tls without key", secret: corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}}, want: []string{"data[tls.key]"}},
		{name: "token without account", secret: corev1.Secret{Type: corev1.SecretTypeServiceAccountToken}, want: []string{"metadata.annotations[kubernetes.io/service-account.name]"}},
		{
			name:   "docker config not json",
			secret: corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}},
			want:   []string{"data[.dockerconfigjson]"},
		},
		{name: "custom type", secret: corev1.Secret{Type: "example.com/thing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().Validate(&tt.secret)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"k": []byte("v")}, Immutable: ptr.To(true)}
	tests := []struct {
		name   string
		secret corev1.Secret
		want   []string
	}{
		{name: "unchanged", secret: *old.DeepCopy()},
		{name: "type changed", secret: corev1.Secret{Type: "example.com/x", Data: old.Data, Immutable: ptr.To(true)}, want: []string{"type"}},
		{name: "immutable data changed", secret: corev1.Secret{Type: corev1.SecretTypeOpaque, Immutable: ptr.To(true)}, want: []string{"data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().ValidateUpdate(&tt.secret, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFieldsAndRow(t *testing.T) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "web", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": nil, "tls.key": nil},
	}
	st := New()
	if got, want := st.Fields(s), (fields.Set{"metadata.name": "tls", "metadata.namespace": "web", "type": "kubernetes.io/tls"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	want := []interface{}{"tls", "kubernetes.io/tls", int64(2), "5m"}
	if got := st.Row(s, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %q, want %q", got, want)
	}
	if len(st.Columns()) != len(want) {
		t.Errorf("%d columns for %d cells", len(st.Columns()), len(want))
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
