package replicationcontroller

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func template(labels map[string]string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
	}
}

func rc(spec corev1.ReplicationControllerSpec) *corev1.ReplicationController {
	return &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: spec}
}

// created runs rc through the create path as the API server does.
func created(t *testing.T, obj *corev1.ReplicationController) *corev1.ReplicationController {
	t.Helper()
	s := New()
	s.PrepareForCreate(obj)
	s.Default(obj)
	return obj
}

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.GroupVersionResource().String() != "/v1, Resource=replicationcontrollers" || !info.Namespaced ||
		!reflect.DeepEqual(info.ShortNames, []string{"rc"}) || !reflect.DeepEqual(info.Categories, []string{"all"}) ||
		!reflect.DeepEqual(info.Subresources, []string{"status", "scale"}) {
		t.Errorf("Info = %+v", info)
	}
	if _, ok := New().(registry.Scaler); !ok {
		t.Error("the strategy is not a registry.Scaler")
	}
	if o, ok := New().(registry.DependentsOrphaner); !ok || !o.OrphansDependentsByDefault() {
		t.Error("deleting a ReplicationController does not orphan its pods by default")
	}
}

func TestDefault(t *testing.T) {
	app := map[string]string{"app": "web"}
	tests := []struct {
		name         string
		rc           *corev1.ReplicationController
		wantReplicas int32
		wantSelector map[string]string
		wantLabels   map[string]string
	}{
		{
			name:         "selector and labels from the template",
			rc:           rc(corev1.ReplicationControllerSpec{Template: template(app)}),
			wantReplicas: 1,
			wantSelector: app,
			wantLabels:   app,
		},
		{
			name: "own selector and labels kept",
			rc: func() *corev1.ReplicationController {
				r := rc(corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](0), Selector: map[string]string{"tier": "front"}, Template: template(app)})
				r.Labels = map[string]string{"team": "a"}
				return r
			}(),
			wantReplicas: 0,
			wantSelector: map[string]string{"tier": "front"},
			wantLabels:   map[string]string{"team": "a"},
		},
		{
			name:         "no template",
			rc:           rc(corev1.ReplicationControllerSpec{}),
			wantReplicas: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := created(t, tt.rc)
			if *got.Spec.Replicas != tt.wantReplicas || !reflect.DeepEqual(got.Spec.Selector, tt.wantSelector) || !reflect.DeepEqual(got.Labels, tt.wantLabels) {
				t.Errorf("replicas %d selector %v labels %v, want %d %v %v", *got.Spec.Replicas, got.Spec.Selector, got.Labels, tt.wantReplicas, tt.wantSelector, tt.wantLabels)
			}
			if tmpl := got.Spec.Template; tmpl != nil && tmpl.Spec.RestartPolicy != corev1.RestartPolicyAlways {
				t.Errorf("template not defaulted: %+v", tmpl.Spec)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	app := map[string]string{"app": "web"}
	tests := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   []fieldError
	}{
		{name: "valid", mutate: func(*corev1.ReplicationController) {}},
		{
			name:   "no selector and an unlabeled template",
			mutate: func(r *corev1.ReplicationController) { r.Spec.Selector, r.Spec.Template.Labels = nil, nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.selector"}},
		},
		{
			name:   "selector does not match the template",
			mutate: func(r *corev1.ReplicationController) { r.Spec.Selector = map[string]string{"app": "db"} },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
		},
		{
			name:   "negative replicas and minReadySeconds",
			mutate: func(r *corev1.ReplicationController) { r.Spec.Replicas, r.Spec.MinReadySeconds = ptr.To[int32](-1), -1 },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.minReadySeconds"}, {field.ErrorTypeInvalid, "spec.replicas"}},
		},
		{
			name: "pods that do not always restart",
			mutate: func(r *corev1.ReplicationController) {
				r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.template.spec.restartPolicy"}},
		},
		{
			name:   "pods with a deadline",
			mutate: func(r *corev1.ReplicationController) { r.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec.template.spec.activeDeadlineSeconds"}},
		},
		{
			name:   "no template",
			mutate: func(r *corev1.ReplicationController) { r.Spec.Template = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.template"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := created(t, rc(corev1.ReplicationControllerSpec{Selector: app, Template: template(app)}))
			tt.mutate(r)
			s := New()
			if got := summarize(s.Validate(r)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
			if got := summarize(s.ValidateUpdate(r, r.DeepCopy())); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestUpdate: the status cannot be written through the main resource; a spec change
// bumps the generation, a metadata change does not, and an update leaving out what
// defaulting fills is no change.
func TestUpdate(t *testing.T) {
	s := New()
	app := map[string]string{"app": "web"}
	stored := created(t, rc(corev1.ReplicationControllerSpec{Template: template(app)}))
	stored.Status.Replicas = 3

	next := rc(corev1.ReplicationControllerSpec{Template: template(app)})
	next.Generation = stored.Generation
	next.Labels = map[string]string{"extra": "x"}
	next.Status.Replicas = 9
	s.PrepareForUpdate(next, stored)
	if next.Generation != 1 || next.Status.Replicas != 3 {
		t.Fatalf("after a metadata update: generation %d, status.replicas %d; want 1, 3", next.Generation, next.Status.Replicas)
	}
	s.Default(next)

	scaled := next.DeepCopy()
	scaled.Spec.Replicas = ptr.To[int32](5)
	s.PrepareForUpdate(scaled, next)
	if scaled.Generation != 2 {
		t.Fatalf("after a spec update: generation %d, want 2", scaled.Generation)
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	app := map[string]string{"app": "web"}
	stored := created(t, rc(corev1.ReplicationControllerSpec{Template: template(app)}))

	next := stored.DeepCopy()
	next.Spec.Replicas = ptr.To[int32](7)
	next.Status = corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 3, AvailableReplicas: 1, FullyLabeledReplicas: -1}
	s.PrepareForStatusUpdate(next, stored)
	if *next.Spec.Replicas != 1 {
		t.Errorf("status update changed spec.replicas to %d", *next.Spec.Replicas)
	}
	want := []fieldError{
		{field.ErrorTypeInvalid, "status.fullyLabeledReplicas"},
		{field.ErrorTypeInvalid, "status.readyReplicas"},
	}
	if got := summarize(s.ValidateStatusUpdate(next, stored)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate = %v, want %v", got, want)
	}
	next.Status = corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 2}
	want = []fieldError{{field.ErrorTypeInvalid, "status.availableReplicas"}}
	if got := summarize(s.ValidateStatusUpdate(next, stored)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate = %v, want %v", got, want)
	}
}

func TestFieldsAndScale(t *testing.T) {
	s := New()
	r := created(t, rc(corev1.ReplicationControllerSpec{Template: template(map[string]string{"app": "web", "tier": "front"})}))
	r.Status.Replicas = 2
	want := fields.Set{"metadata.name": "web", "metadata.namespace": "default", "status.replicas": "2"}
	if got := s.Fields(r); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	sc := s.(registry.Scaler)
	if spec, status, sel := sc.Replicas(r); spec != 1 || status != 2 || sel != "app=web,tier=front" {
		t.Errorf("Replicas = %d, %d, %q", spec, status, sel)
	}
	sc.SetReplicas(r, 4)
	if spec, _, _ := sc.Replicas(r); spec != 4 {
		t.Errorf("after SetReplicas(4): %d", spec)
	}
	r.Spec.Replicas = nil
	if spec, _, _ := sc.Replicas(r); spec != 1 {
		t.Errorf("unset replicas read as %d, want 1", spec)
	}
}

func TestTable(t *testing.T) {
	s := New()
	r := created(t, rc(corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), Template: template(map[string]string{"app": "web"})}))
	r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Name: "log", Image: "busybox"})
	r.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	r.Status = corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 2}
	want := []interface{}{"web", int64(3), int64(3), int64(2), "90s", "nginx,log", "nginx:1.27,busybox", "app=web"}
	if got := s.Row(r, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	wantNames := []string{"Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"}
	if !reflect.DeepEqual(names, wantNames) || len(s.Columns()) != len(want) {
		t.Errorf("Columns = %v, want %v", names, wantNames)
	}
}
