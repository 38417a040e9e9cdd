package replicaset

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func replicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-90 * time.Second))},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "pod-template-hash": "7d9f"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
		},
	}
}

// created runs rs through the create path.
func created(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	s := New()
	s.PrepareForCreate(rs)
	s.Default(rs)
	return rs
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

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.GroupVersionKind().String() != "apps/v1, Kind=ReplicaSet" || info.Resource != "replicasets" ||
		!reflect.DeepEqual(info.ShortNames, []string{"rs"}) || !reflect.DeepEqual(info.Categories, []string{"all"}) ||
		!reflect.DeepEqual(info.Subresources, []string{"status", "scale"}) || !info.Namespaced {
		t.Errorf("info %+v", info)
	}
}

func TestCreate(t *testing.T) {
	rs := replicaSet()
	rs.Status.Replicas = 5
	rs.Generation = 7
	created(rs)
	if rs.Generation != 1 || rs.Status.Replicas != 0 {
		t.Errorf("generation %d, status %+v: want 1 and a cleared status", rs.Generation, rs.Status)
	}
	if ptr.Deref(rs.Spec.Replicas, 0) != 1 {
		t.Errorf("replicas %v, want 1", rs.Spec.Replicas)
	}
	if rs.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || rs.Spec.Template.Spec.Containers[0].TerminationMessagePath == "" {
		t.Errorf("template not defaulted: %+v", rs.Spec.Template.Spec)
	}
	if errs := New().Validate(rs); len(errs) != 0 {
		t.Errorf("valid ReplicaSet: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.ReplicaSet)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.ReplicaSet) {}, want: []string{}},
		{
			name:   "no selector",
			modify: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil },
			want: []string{
				"spec.selector: Required value",
				"spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
			},
		},
		{
			name:   "empty selector",
			modify: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"spec.selector: Invalid value: empty selector is invalid for deployment"},
		},
		{
			name: "selector does not match",
			modify: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Selector.MatchLabels = map[string]string{"app": "db"}
			},
			want: []string{"spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"},
		},
		{
			name: "selector does not convert",
			modify: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
			},
			want: []string{
				`spec.selector.matchExpressions[0].operator: Invalid value: not a valid selector operator`,
				"spec.selector: Invalid value: invalid label selector",
			},
		},
		{
			name: "negative counts",
			modify: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Replicas = ptr.To[int32](-1)
				rs.Spec.MinReadySeconds = -1
			},
			want: []string{
				"spec.replicas: Invalid value: must be greater than or equal to 0",
				"spec.minReadySeconds: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name: "pods that stop",
			modify: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				rs.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
			},
			want: []string{
				`spec.template.spec.restartPolicy: Unsupported value: supported values: "Always"`,
				"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
			},
		},
		{
			name:   "invalid pod",
			modify: func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.Containers = nil },
			want:   []string{"spec.template.spec.containers: Required value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := replicaSet()
			tt.modify(rs)
			created(rs)
			got := summary(New().Validate(rs))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestUpdate: the status and generation are the server's; the generation moves with
// the spec only, compared once defaulted; the selector may not change.
func TestUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name           string
		modify         func(*appsv1.ReplicaSet)
		wantGeneration int64
		wantErrs       []string
	}{
		{name: "unchanged", modify: func(*appsv1.ReplicaSet) {}, wantGeneration: 4, wantErrs: []string{}},
		{name: "labels", modify: func(rs *appsv1.ReplicaSet) { rs.Labels = map[string]string{"x": "y"} }, wantGeneration: 4, wantErrs: []string{}},
		{
			name: "undefaulted template",
			modify: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Template.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}
			},
			wantGeneration: 4, wantErrs: []string{},
		},
		{name: "scaled", modify: func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptr.To[int32](3) }, wantGeneration: 5, wantErrs: []string{}},
		{
			name:           "image",
			modify:         func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" },
			wantGeneration: 5, wantErrs: []string{},
		},
		{
			name: "selector",
			modify: func(rs *appsv1.ReplicaSet) {
				rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"pod-template-hash": "7d9f"}}
			},
			wantGeneration: 5,
			wantErrs:       []string{"spec.selector: Invalid value: field is immutable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(replicaSet())
			old.Generation = 4
			old.Status = appsv1.ReplicaSetStatus{Replicas: 1, ObservedGeneration: 4}
			rs := old.DeepCopy()
			rs.Status = appsv1.ReplicaSetStatus{}
			tt.modify(rs)
			s.PrepareForUpdate(rs, old)
			s.Default(rs)
			if rs.Generation != tt.wantGeneration {
				t.Errorf("generation %d, want %d", rs.Generation, tt.wantGeneration)
			}
			if rs.Status.Replicas != 1 || rs.Status.ObservedGeneration != 4 {
				t.Errorf("status %+v, want the stored one", rs.Status)
			}
			if got := summary(s.ValidateUpdate(rs, old)); !reflect.DeepEqual(got, tt.wantErrs) {
				t.Errorf("errors %q, want %q", got, tt.wantErrs)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name   string
		status appsv1.ReplicaSetStatus
		want   []string
	}{
		{name: "valid", status: appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, TerminatingReplicas: ptr.To[int32](1)}, want: []string{}},
		{
			name:   "negative",
			status: appsv1.ReplicaSetStatus{FullyLabeledReplicas: -1, ObservedGeneration: -1, TerminatingReplicas: ptr.To[int32](-1)},
			want: []string{
				"status.fullyLabeledReplicas: Invalid value: must be greater than or equal to 0",
				"status.observedGeneration: Invalid value: must be greater than or equal to 0",
				"status.terminatingReplicas: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name:   "more than there are",
			status: appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 3},
			want: []string{
				"status.fullyLabeledReplicas: Invalid value: cannot be greater than status.replicas",
				"status.readyReplicas: Invalid value: cannot be greater than status.replicas",
				"status.availableReplicas: Invalid value: cannot be greater than status.replicas",
				"status.availableReplicas: Invalid value: cannot be greater than readyReplicas",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(replicaSet())
			rs := old.DeepCopy()
			rs.Spec.Replicas = ptr.To[int32](9)
			rs.Status = tt.status
			s.PrepareForStatusUpdate(rs, old)
			if *rs.Spec.Replicas != 1 {
				t.Errorf("a status write changed spec.replicas to %d", *rs.Spec.Replicas)
			}
			if got := summary(s.ValidateStatusUpdate(rs, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFieldsTableScale(t *testing.T) {
	s := New()
	rs := created(replicaSet())
	rs.Spec.Replicas = ptr.To[int32](3)
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1}
	want := fields.Set{"metadata.name": "web-7d9f", "metadata.namespace": "default", "status.replicas": "2"}
	if got := s.Fields(rs); !reflect.DeepEqual(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}

	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	wantNames := []string{"Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("columns %q, want %q", names, wantNames)
	}
	wantRow := []interface{}{"web-7d9f", int64(3), int64(2), int64(1), "90s", "nginx", "nginx:1.27", "app=web"}
	if got := s.Row(rs, now); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row %#v, want %#v", got, wantRow)
	}

	sc := s.(registry.Scaler)
	if spec, status, sel := sc.Replicas(rs); spec != 3 || status != 2 || sel != "app=web" {
		t.Errorf("Replicas = %d, %d, %q", spec, status, sel)
	}
	sc.SetReplicas(rs, 5)
	if *rs.Spec.Replicas != 5 {
		t.Errorf("SetReplicas left %d", *rs.Spec.Replicas)
	}
}
