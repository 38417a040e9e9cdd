package deployment

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

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Minute))},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}, {Name: "sidecar", Image: "busybox"}}},
			},
		},
	}
}

// created runs d through the create path.
func created(d *appsv1.Deployment) *appsv1.Deployment {
	s := New()
	s.PrepareForCreate(d)
	s.Default(d)
	return d
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
	if info.GroupVersionKind().String() != "apps/v1, Kind=Deployment" || info.Resource != "deployments" ||
		!reflect.DeepEqual(info.ShortNames, []string{"deploy"}) || !reflect.DeepEqual(info.Categories, []string{"all"}) ||
		!reflect.DeepEqual(info.Subresources, []string{"status", "scale"}) || !info.Namespaced {
		t.Errorf("info %+v", info)
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		spec appsv1.DeploymentSpec
		want appsv1.DeploymentSpec
	}{
		{
			name: "empty",
			want: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Strategy: appsv1.DeploymentStrategy{
					Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{
						MaxUnavailable: ptr.To(intstr.FromString("25%")),
						MaxSurge:       ptr.To(intstr.FromString("25%")),
					},
				},
				RevisionHistoryLimit:    ptr.To[int32](10),
				ProgressDeadlineSeconds: ptr.To[int32](600),
			},
		},
		{
			name: "recreate",
			spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}},
			want: appsv1.DeploymentSpec{
				Replicas:                ptr.To[int32](0),
				Strategy:                appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				RevisionHistoryLimit:    ptr.To[int32](10),
				ProgressDeadlineSeconds: ptr.To[int32](600),
			},
		},
		{
			name: "half a rolling update",
			spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromInt32(2))}}},
			want: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Strategy: appsv1.DeploymentStrategy{
					Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{
						MaxUnavailable: ptr.To(intstr.FromString("25%")),
						MaxSurge:       ptr.To(intstr.FromInt32(2)),
					},
				},
				RevisionHistoryLimit:    ptr.To[int32](10),
				ProgressDeadlineSeconds: ptr.To[int32](600),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: tt.spec}
			New().Default(d)
			// The pod template's defaults are the pod package's; only the rest is compared.
			d.Spec.Template = corev1.PodTemplateSpec{}
			if !reflect.DeepEqual(d.Spec, tt.want) {
				t.Errorf("spec\n%+v\nwant\n%+v", d.Spec, tt.want)
			}
		})
	}
}

func TestTemplateDefaults(t *testing.T) {
	d := created(deployment())
	spec := d.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.DNSPolicy != corev1.DNSClusterFirst || spec.SchedulerName != corev1.DefaultSchedulerName ||
		spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent || spec.Containers[1].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("template not defaulted: %+v", spec)
	}
	// What upstream defaults only in pods stays unset in templates.
	if spec.ServiceAccountName != "" || spec.Priority != nil || spec.Tolerations != nil || spec.EnableServiceLinks != nil {
		t.Errorf("template got pod-only defaults: %+v", spec)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.Deployment)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.Deployment) {}, want: []string{}},
		{
			name: "no selector",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Selector = nil
			},
			want: []string{
				"spec.selector: Required value",
				"spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
			},
		},
		{
			name:   "empty selector",
			modify: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"spec.selector: Invalid value: empty selector is invalid for deployment"},
		},
		{
			name:   "pods that stop",
			modify: func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) },
			want:   []string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"},
		},
		{
			name: "recreate with a rolling update",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
			},
			want: []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"},
		},
		{
			name:   "unknown strategy",
			modify: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" },
			want:   []string{`spec.strategy: Unsupported value: supported values: "Recreate", "RollingUpdate"`},
		},
		{
			name: "nothing may move",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("0%")), MaxSurge: ptr.To(intstr.FromInt32(0))}
			},
			want: []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: may not be 0 when `maxSurge` is 0"},
		},
		{
			name: "bad counts",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("150%")), MaxSurge: ptr.To(intstr.FromInt32(-1))}
			},
			want: []string{
				"spec.strategy.rollingUpdate.maxSurge: Invalid value: must be greater than or equal to 0",
				"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: must not be greater than 100%",
			},
		},
		{
			name: "surge over 100% is allowed",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(intstr.FromString("200%"))}
			},
			want: []string{},
		},
		{
			name: "negative counts",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Replicas = ptr.To[int32](-1)
				d.Spec.MinReadySeconds = -1
				d.Spec.RevisionHistoryLimit = ptr.To[int32](-1)
			},
			want: []string{
				"spec.replicas: Invalid value: must be greater than or equal to 0",
				"spec.minReadySeconds: Invalid value: must be greater than or equal to 0",
				"spec.revisionHistoryLimit: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name: "progress deadline within minReadySeconds",
			modify: func(d *appsv1.Deployment) {
				d.Spec.MinReadySeconds = 600
			},
			want: []string{"spec.progressDeadlineSeconds: Invalid value: must be greater than minReadySeconds"},
		},
		{
			name:   "rollback to a negative revision",
			modify: func(d *appsv1.Deployment) { d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "-2"} },
			want:   []string{"spec.rollback.version: Invalid value: must be greater than or equal to 0"},
		},
		{
			name:   "rollback to no revision",
			modify: func(d *appsv1.Deployment) { d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "last"} },
			want:   []string{"metadata.annotations[deprecated.deployment.rollback.to]: Invalid value: must be an integer revision"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment()
			tt.modify(d)
			created(d)
			if got := summary(New().Validate(d)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestUpdate: the status and generation are the server's; the generation moves with
// the spec (compared once defaulted) and with the annotations; the selector may not
// change.
func TestUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name           string
		modify         func(*appsv1.Deployment)
		wantGeneration int64
		wantErrs       []string
	}{
		{name: "unchanged", modify: func(*appsv1.Deployment) {}, wantGeneration: 2, wantErrs: []string{}},
		{name: "labels", modify: func(d *appsv1.Deployment) { d.Labels = map[string]string{"team": "a"} }, wantGeneration: 2, wantErrs: []string{}},
		{
			name: "defaults left out",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Strategy, d.Spec.RevisionHistoryLimit = appsv1.DeploymentStrategy{}, nil
			},
			wantGeneration: 2, wantErrs: []string{},
		},
		{
			name:           "annotations",
			modify:         func(d *appsv1.Deployment) { d.Annotations = map[string]string{"kubernetes.io/change-cause": "bump"} },
			wantGeneration: 3, wantErrs: []string{},
		},
		{name: "paused", modify: func(d *appsv1.Deployment) { d.Spec.Paused = true }, wantGeneration: 3, wantErrs: []string{}},
		{
			name: "selector",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}
			},
			wantGeneration: 3,
			wantErrs:       []string{"spec.selector: Invalid value: field is immutable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(deployment())
			old.Generation = 2
			old.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1}
			d := old.DeepCopy()
			d.Status = appsv1.DeploymentStatus{}
			tt.modify(d)
			s.PrepareForUpdate(d, old)
			s.Default(d)
			if d.Generation != tt.wantGeneration {
				t.Errorf("generation %d, want %d", d.Generation, tt.wantGeneration)
			}
			if d.Status.ObservedGeneration != 2 || d.Status.Replicas != 1 {
				t.Errorf("status %+v, want the stored one", d.Status)
			}
			if got := summary(s.ValidateUpdate(d, old)); !reflect.DeepEqual(got, tt.wantErrs) {
				t.Errorf("errors %q, want %q", got, tt.wantErrs)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name      string
		status    appsv1.DeploymentStatus
		oldStatus appsv1.DeploymentStatus
		want      []string
	}{
		{name: "valid", status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1, CollisionCount: ptr.To[int32](1)}, want: []string{}},
		{
			name:   "negative",
			status: appsv1.DeploymentStatus{ObservedGeneration: -1, UnavailableReplicas: -1, TerminatingReplicas: ptr.To[int32](-1), CollisionCount: ptr.To[int32](-1)},
			want: []string{
				"status.observedGeneration: Invalid value: must be greater than or equal to 0",
				"status.unavailableReplicas: Invalid value: must be greater than or equal to 0",
				"status.terminatingReplicas: Invalid value: must be greater than or equal to 0",
				"status.collisionCount: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name:   "more than there are",
			status: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 2},
			want: []string{
				"status.updatedReplicas: Invalid value: cannot be greater than status.replicas",
				"status.availableReplicas: Invalid value: cannot be greater than status.replicas",
				"status.availableReplicas: Invalid value: cannot be greater than readyReplicas",
			},
		},
		{
			name:      "collision count lowered",
			status:    appsv1.DeploymentStatus{CollisionCount: ptr.To[int32](1)},
			oldStatus: appsv1.DeploymentStatus{CollisionCount: ptr.To[int32](2)},
			want:      []string{"status.collisionCount: Invalid value: cannot be decremented"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(deployment())
			old.Status = tt.oldStatus
			d := old.DeepCopy()
			d.Spec.Paused = true
			d.Labels = map[string]string{"changed": "by status"}
			d.Status = tt.status
			s.PrepareForStatusUpdate(d, old)
			if d.Spec.Paused || d.Labels != nil {
				t.Errorf("a status write changed the spec or labels: %+v", d)
			}
			if got := summary(s.ValidateStatusUpdate(d, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTableScale(t *testing.T) {
	s := New()
	d := created(deployment())
	d.Spec.Replicas = ptr.To[int32](3)
	d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	wantNames := []string{"Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("columns %q, want %q", names, wantNames)
	}
	wantRow := []interface{}{"web", "2/3", int64(3), int64(2), "3m", "nginx,sidecar", "nginx:1.27,busybox", "app=web"}
	if got := s.Row(d, now); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row %#v, want %#v", got, wantRow)
	}
	sc := s.(registry.Scaler)
	if spec, status, sel := sc.Replicas(d); spec != 3 || status != 3 || sel != "app=web" {
		t.Errorf("Replicas = %d, %d, %q", spec, status, sel)
	}
	sc.SetReplicas(d, 0)
	if *d.Spec.Replicas != 0 {
		t.Errorf("SetReplicas left %d", *d.Spec.Replicas)
	}
}
