package daemonset

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func daemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system", CreationTimestamp: metav1.NewTime(now.Add(-5 * 24 * time.Hour))},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent:1"}}},
			},
		},
	}
}

// created runs ds through the create path.
func created(ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	s := New()
	s.PrepareForCreate(ds)
	s.Default(ds)
	return ds
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
	if info.GroupVersionKind().String() != "apps/v1, Kind=DaemonSet" || info.Resource != "daemonsets" ||
		!reflect.DeepEqual(info.ShortNames, []string{"ds"}) || !reflect.DeepEqual(info.Categories, []string{"all"}) ||
		!reflect.DeepEqual(info.Subresources, []string{"status"}) || !info.Namespaced {
		t.Errorf("info %+v", info)
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		us   appsv1.DaemonSetUpdateStrategy
		want appsv1.DaemonSetUpdateStrategy
	}{
		{
			name: "empty",
			want: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))},
			},
		},
		{
			name: "surge given",
			us:   appsv1.DaemonSetUpdateStrategy{RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromString("10%"))}},
			want: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromString("10%"))},
			},
		},
		{
			name: "on delete",
			us:   appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
			want: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: tt.us}}
			New().Default(ds)
			if !reflect.DeepEqual(ds.Spec.UpdateStrategy, tt.want) || ptr.Deref(ds.Spec.RevisionHistoryLimit, 0) != 10 {
				t.Errorf("spec %+v, want update strategy %+v and 10 revisions", ds.Spec, tt.want)
			}
		})
	}
}

func TestCreateTemplateGeneration(t *testing.T) {
	tests := []struct {
		name, given, want string
		wantErrs          []string
	}{
		{name: "none", want: "1", wantErrs: []string{}},
		{name: "zero", given: "0", want: "1", wantErrs: []string{}},
		{name: "higher", given: "4", want: "4", wantErrs: []string{}},
		{name: "not a number", given: "four", want: "four", wantErrs: []string{
			"metadata.annotations[deprecated.daemonset.template.generation]: Invalid value: must be an integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := daemonSet()
			if tt.given != "" {
				ds.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: tt.given}
			}
			ds.Status.NumberReady = 3
			created(ds)
			if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != tt.want {
				t.Errorf("template generation %q, want %q", got, tt.want)
			}
			if ds.Generation != 1 || ds.Status.NumberReady != 0 {
				t.Errorf("generation %d, status %+v", ds.Generation, ds.Status)
			}
			if got := summary(New().Validate(ds)); !reflect.DeepEqual(got, tt.wantErrs) {
				t.Errorf("errors %q, want %q", got, tt.wantErrs)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.DaemonSet)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.DaemonSet) {}, want: []string{}},
		{
			name: "host network, host ports left to the pods",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.HostNetwork = true
				ds.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100}, {ContainerPort: 9101, HostPort: 9101}}
			},
			want: []string{},
		},
		{
			name: "host network, another host port",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.HostNetwork = true
				ds.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9200}}
			},
			want: []string{"spec.template.spec.containers[0].ports[0].hostPort: Invalid value: must match `containerPort` when `hostNetwork` is true"},
		},
		{
			name:   "no selector",
			modify: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil },
			want:   []string{"spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"},
		},
		{
			name:   "empty selector",
			modify: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"spec.selector: Invalid value: empty selector is invalid for daemonset"},
		},
		{
			name: "pods that stop",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
			},
			want: []string{
				`spec.template.spec.restartPolicy: Unsupported value: supported values: "Always"`,
				"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported",
			},
		},
		{
			name: "surge and unavailable",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromString("120%"))}
			},
			want: []string{
				"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: must not be greater than 100%",
				"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: may not be set when maxUnavailable is non-zero",
			},
		},
		{
			name: "neither",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("0%")), MaxSurge: ptr.To(intstr.FromInt32(0))}
			},
			want: []string{"spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"},
		},
		{
			name:   "unknown strategy",
			modify: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Replace" },
			want:   []string{`spec.updateStrategy: Unsupported value: supported values: "RollingUpdate", "OnDelete"`},
		},
		{
			name: "rolling update without parameters",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType}
			},
			// Defaulting fills them in.
			want: []string{},
		},
		{
			name: "negative counts",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.MinReadySeconds = -1
				ds.Spec.RevisionHistoryLimit = ptr.To[int32](-1)
			},
			want: []string{
				"spec.minReadySeconds: Invalid value: must be greater than or equal to 0",
				"spec.revisionHistoryLimit: Invalid value: must be greater than or equal to 0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := daemonSet()
			tt.modify(ds)
			created(ds)
			if got := summary(New().Validate(ds)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestUpdate: a template change moves both the template generation and the generation;
// another spec change only the generation; the client's template generation is
// ignored; the selector may not change.
func TestUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name                   string
		modify                 func(*appsv1.DaemonSet)
		wantGeneration         int64
		wantTemplateGeneration string
		wantErrs               []string
	}{
		{name: "unchanged", modify: func(*appsv1.DaemonSet) {}, wantGeneration: 2, wantTemplateGeneration: "2", wantErrs: []string{}},
		{
			name: "annotations",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Annotations = map[string]string{"note": "x", appsv1.DeprecatedTemplateGeneration: "9"}
			},
			wantGeneration: 2, wantTemplateGeneration: "2", wantErrs: []string{},
		},
		{
			name:           "template",
			modify:         func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "agent:2" },
			wantGeneration: 3, wantTemplateGeneration: "3", wantErrs: []string{},
		},
		{
			name: "undefaulted template",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent:1"}}}
			},
			wantGeneration: 2, wantTemplateGeneration: "2", wantErrs: []string{},
		},
		{
			name:           "rest of the spec",
			modify:         func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 10 },
			wantGeneration: 3, wantTemplateGeneration: "2", wantErrs: []string{},
		},
		{
			name: "selector",
			modify: func(ds *appsv1.DaemonSet) {
				ds.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}
			},
			wantGeneration: 3, wantTemplateGeneration: "2",
			wantErrs: []string{"spec.selector: Invalid value: field is immutable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(daemonSet())
			old.Generation = 2
			old.Annotations[appsv1.DeprecatedTemplateGeneration] = "2"
			old.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, NumberReady: 1, CurrentNumberScheduled: 1, DesiredNumberScheduled: 1}
			ds := old.DeepCopy()
			ds.Status = appsv1.DaemonSetStatus{}
			tt.modify(ds)
			s.PrepareForUpdate(ds, old)
			s.Default(ds)
			if ds.Generation != tt.wantGeneration {
				t.Errorf("generation %d, want %d", ds.Generation, tt.wantGeneration)
			}
			if got := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; got != tt.wantTemplateGeneration {
				t.Errorf("template generation %q, want %q", got, tt.wantTemplateGeneration)
			}
			if ds.Status.NumberReady != 1 {
				t.Errorf("status %+v, want the stored one", ds.Status)
			}
			if got := summary(s.ValidateUpdate(ds, old)); !reflect.DeepEqual(got, tt.wantErrs) {
				t.Errorf("errors %q, want %q", got, tt.wantErrs)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	old := created(daemonSet())
	old.Status.CollisionCount = ptr.To[int32](2)
	ds := old.DeepCopy()
	ds.Spec.MinReadySeconds = 30
	ds.Status = appsv1.DaemonSetStatus{NumberMisscheduled: -1, NumberUnavailable: -2, CollisionCount: ptr.To[int32](1)}
	s.PrepareForStatusUpdate(ds, old)
	if ds.Spec.MinReadySeconds != 0 {
		t.Errorf("a status write changed the spec")
	}
	want := []string{
		"status.numberMisscheduled: Invalid value: must be greater than or equal to 0",
		"status.numberUnavailable: Invalid value: must be greater than or equal to 0",
		"status.collisionCount: Invalid value: cannot be decremented",
	}
	if got := summary(s.ValidateStatusUpdate(ds, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestTable(t *testing.T) {
	s := New()
	ds := created(daemonSet())
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	wantNames := []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "Containers", "Images", "Selector"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("columns %q, want %q", names, wantNames)
	}
	wantRow := []interface{}{"agent", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "5d", "agent", "agent:1", "app=agent"}
	if got := s.Row(ds, now); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row %#v, want %#v", got, wantRow)
	}
	ds.Spec.Template.Spec.NodeSelector = nil
	if got := s.Row(ds, now)[6]; got != "<none>" {
		t.Errorf("node selector cell %q, want <none>", got)
	}
}
