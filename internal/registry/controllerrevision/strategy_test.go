package controllerrevision

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func revision(data string) *appsv1.ControllerRevision {
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5b8c", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Revision:   2,
	}
	if data != "" {
		cr.Data = runtime.RawExtension{Raw: []byte(data)}
	}
	return cr
}

// summary renders each error as "field: type[: detail]".
func summary(errs field.ErrorList) []string {
	out := []string{}
	for _, e := range errs {
		s := e.Field + ": " + e.Type.String()
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		out = append(out, s)
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		revision int64
		want     []string
	}{
		{name: "object", data: `{"spec":{"template":{}}}`, revision: 1, want: []string{}},
		{name: "missing", revision: 1, want: []string{"data: Required value: data is mandatory"}},
		{name: "null", data: `null`, revision: 1, want: []string{"data: Required value: data is mandatory"}},
		{name: "array", data: `[1]`, revision: 1, want: []string{"data: Required value: data must be a valid JSON object"}},
		{name: "not JSON", data: `{`, revision: 1, want: []string{"data: Invalid value: error parsing data: unexpected end of JSON input"}},
		{name: "negative revision", data: `{}`, revision: -1, want: []string{"revision: Invalid value: must be greater than or equal to 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			cr := revision(tt.data)
			cr.Revision = tt.revision
			s.PrepareForCreate(cr)
			s.Default(cr)
			if got := summary(s.Validate(cr)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUpdate: the revision number may change, the data may not.
func TestUpdate(t *testing.T) {
	s := New()
	old := revision(`{"a":1}`)
	tests := []struct {
		name   string
		modify func(*appsv1.ControllerRevision)
		want   []string
	}{
		{name: "revision", modify: func(cr *appsv1.ControllerRevision) { cr.Revision = 7 }, want: []string{}},
		{name: "data", modify: func(cr *appsv1.ControllerRevision) { cr.Data.Raw = []byte(`{"a":2}`) }, want: []string{"data: Invalid value: field is immutable"}},
		{name: "negative revision", modify: func(cr *appsv1.ControllerRevision) { cr.Revision = -1 }, want: []string{"revision: Invalid value: must be greater than or equal to 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := old.DeepCopy()
			tt.modify(cr)
			s.PrepareForUpdate(cr, old)
			if got := summary(s.ValidateUpdate(cr, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	s := New()
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Controller", "Revision", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %q, want %q", names, want)
	}
	tests := []struct {
		name string
		refs []metav1.OwnerReference
		want string
	}{
		{name: "no owner", want: "<none>"},
		{name: "owner, not controller", refs: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}}, want: "<none>"},
		{name: "apps controller", refs: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", Controller: ptr.To(true)}}, want: "daemonset.apps/agent"},
		{name: "core controller", refs: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", Controller: ptr.To(true)}}, want: "pod/p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := revision(`{}`)
			cr.OwnerReferences = tt.refs
			want := []interface{}{"web-5b8c", tt.want, int64(2), "60m"}
			if got := s.Row(cr, now); !reflect.DeepEqual(got, want) {
				t.Errorf("row %#v, want %#v", got, want)
			}
		})
	}
}
