package statefulset

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func claim(name string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func statefulSet() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "postgres", Image: "postgres:17",
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql"}},
				}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim("data")},
		},
	}
}

// created runs ss through the create path.
func created(ss *appsv1.StatefulSet) *appsv1.StatefulSet {
	s := New()
	s.PrepareForCreate(ss)
	s.Default(ss)
	return ss
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
	s := New()
	info := s.Info()
	if info.GroupVersionKind().String() != "apps/v1, Kind=StatefulSet" || info.Resource != "statefulsets" ||
		!reflect.DeepEqual(info.ShortNames, []string{"sts"}) || !reflect.DeepEqual(info.Categories, []string{"all"}) ||
		!reflect.DeepEqual(info.Subresources, []string{"status", "scale"}) || !info.Namespaced {
		t.Errorf("info %+v", info)
	}
	if len(s.ValidateName("db.example", false)) == 0 {
		t.Errorf("a dotted name is accepted; pods' hostnames need a DNS label")
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name   string
		spec   appsv1.StatefulSetSpec
		wantUS appsv1.StatefulSetUpdateStrategy
	}{
		{
			name: "empty",
			wantUS: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0), MaxUnavailable: ptr.To(intstr.FromInt32(1))},
			},
		},
		{
			name:   "rolling update without parameters",
			spec:   appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}},
			wantUS: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
		},
		{
			name: "partition given",
			spec: appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}}},
			wantUS: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2), MaxUnavailable: ptr.To(intstr.FromInt32(1))},
			},
		},
		{
			name:   "on delete",
			spec:   appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}},
			wantUS: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := &appsv1.StatefulSet{Spec: tt.spec}
			New().Default(ss)
			want := appsv1.StatefulSetSpec{
				Replicas:             ptr.To[int32](1),
				PodManagementPolicy:  appsv1.OrderedReadyPodManagement,
				UpdateStrategy:       tt.wantUS,
				RevisionHistoryLimit: ptr.To[int32](10),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
					WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
			}
			ss.Spec.Template = corev1.PodTemplateSpec{}
			if !reflect.DeepEqual(ss.Spec, want) {
				t.Errorf("spec\n%+v\nwant\n%+v", ss.Spec, want)
			}
		})
	}
}

func TestClaimTemplateDefaults(t *testing.T) {
	ss := statefulSet()
	ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1.0001m")
	created(ss)
	c := ss.Spec.VolumeClaimTemplates[0]
	if c.APIVersion != "v1" || c.Kind != "PersistentVolumeClaim" || c.Status.Phase != corev1.ClaimPending ||
		ptr.Deref(c.Spec.VolumeMode, "") != corev1.PersistentVolumeFilesystem {
		t.Errorf("claim template not defaulted: %+v", c)
	}
	if q := c.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "2m" {
		t.Errorf("storage %s, want it rounded up to 2m", q.String())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.StatefulSet)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.StatefulSet) {}, want: []string{}},
		{
			name: "identity set by the controller",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Template.Spec.Hostname = "Not_A_Hostname"
				ss.Spec.Template.Spec.Subdomain = "Not_A_Subdomain"
			},
			want: []string{},
		},
		{
			name:   "mount of an undeclared volume",
			modify: func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates = nil },
			want:   []string{`spec.template.spec.containers[0].volumeMounts[0].name: Not found`},
		},
		{
			name: "bad policies",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.PodManagementPolicy = "Random"
				ss.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep", WhenScaled: "Delete"}
			},
			want: []string{
				"spec.podManagementPolicy: Invalid value: must be 'OrderedReady' or 'Parallel'",
				`spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: supported values: "Retain", "Delete"`,
			},
		},
		{
			name:   "unknown update strategy",
			modify: func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = "Recreate" },
			want:   []string{"spec.updateStrategy: Invalid value: must be 'RollingUpdate' or 'OnDelete'"},
		},
		{
			name: "on delete with a rolling update",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{}}
			},
			want: []string{"spec.updateStrategy.rollingUpdate: Invalid value: only allowed for updateStrategy 'RollingUpdate'"},
		},
		{
			name: "bad rolling update",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](-1), MaxUnavailable: ptr.To(intstr.FromString("0%"))}
			},
			want: []string{
				"spec.updateStrategy.rollingUpdate.partition: Invalid value: must be greater than or equal to 0",
				"spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: cannot be 0",
			},
		},
		{
			name: "negative counts",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Replicas = ptr.To[int32](-1)
				ss.Spec.MinReadySeconds = -1
				ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1}
			},
			want: []string{
				"spec.replicas: Invalid value: must be greater than or equal to 0",
				"spec.minReadySeconds: Invalid value: must be greater than or equal to 0",
				"spec.ordinals.start: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name:   "service name",
			modify: func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "db.svc" },
			want:   []string{"spec.serviceName: Invalid value: must not contain dots"},
		},
		{
			name: "no selector",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Selector = nil
			},
			want: []string{
				"spec.selector: Required value",
				"spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
			},
		},
		{
			name:   "empty selector",
			modify: func(ss *appsv1.StatefulSet) { ss.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"spec.selector: Invalid value: empty selector is invalid for statefulset"},
		},
		{
			name: "template labels reported twice",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Template.Labels["-bad"] = "x"
				ss.Spec.Template.Annotations = map[string]string{"controller.kubernetes.io/pod-deletion-cost": "lots"}
			},
			want: []string{
				"spec.template.metadata.labels: Invalid value: name part must consist of alphanumeric characters, '-', '_' or '.', " +
					"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
				"spec.template.metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: must be a 32bit integer",
				"spec.template.labels: Invalid value: name part must consist of alphanumeric characters, '-', '_' or '.', " +
					"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
				"spec.template.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: must be a 32bit integer",
			},
		},
		{
			name: "pods that stop",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
				ss.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
			},
			want: []string{
				`spec.template.spec.restartPolicy: Unsupported value: supported values: "Always"`,
				"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported",
			},
		},
		{
			name: "claim templates",
			modify: func(ss *appsv1.StatefulSet) {
				c := claim("logs")
				c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "ReadSometimes"}
				c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0")}
				c.Spec.StorageClassName = ptr.To("Fast_SSD")
				c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Snapshot", Name: "s1"}
				empty := claim("empty")
				empty.Spec = corev1.PersistentVolumeClaimSpec{}
				ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, c, empty)
			},
			want: []string{
				`spec.volumeClaimTemplates[1].spec.accessModes: Unsupported value: supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`,
				"spec.volumeClaimTemplates[1].spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
				"spec.volumeClaimTemplates[1].spec.resources[storage]: Invalid value: must be greater than zero",
				"spec.volumeClaimTemplates[1].spec.storageClassName: Invalid value: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
					"and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
				"spec.volumeClaimTemplates[1].spec.dataSource: Invalid value: must be 'PersistentVolumeClaim' when referencing the default apiGroup",
				"spec.volumeClaimTemplates[2].spec.accessModes: Required value: at least 1 access mode is required",
				"spec.volumeClaimTemplates[2].spec.resources[storage]: Required value",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := statefulSet()
			tt.modify(ss)
			created(ss)
			if got := summary(New().Validate(ss)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestUpdate: the status and generation are the server's; the generation moves with
// the spec, compared once defaulted; selector, serviceName, podManagementPolicy and
// volumeClaimTemplates may not change.
func TestUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name           string
		modify         func(*appsv1.StatefulSet)
		wantGeneration int64
		wantErrs       []string
	}{
		{name: "unchanged", modify: func(*appsv1.StatefulSet) {}, wantGeneration: 3, wantErrs: []string{}},
		{
			name: "defaults left out",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.PersistentVolumeClaimRetentionPolicy = nil
				ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim("data")}
			},
			wantGeneration: 3, wantErrs: []string{},
		},
		{name: "scaled", modify: func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = ptr.To[int32](3) }, wantGeneration: 4, wantErrs: []string{}},
		{
			name: "updatable fields",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Template.Spec.Containers[0].Image = "postgres:18"
				ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
				ss.Spec.MinReadySeconds = 5
				ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 1}
				ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
			},
			wantGeneration: 4, wantErrs: []string{},
		},
		{
			name: "fixed fields",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}
				ss.Spec.ServiceName = "db2"
				ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
				ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, claim("logs"))
			},
			wantGeneration: 4,
			wantErrs: []string{
				"spec.selector: Invalid value: field is immutable",
				"spec.volumeClaimTemplates: Invalid value: field is immutable",
				"spec.serviceName: Invalid value: field is immutable",
				"spec.podManagementPolicy: Invalid value: field is immutable",
			},
		},
		{
			name: "recreate is not enabled",
			modify: func(ss *appsv1.StatefulSet) {
				ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RecreateStatefulSetStrategyType}
			},
			wantGeneration: 4,
			wantErrs:       []string{"spec.updateStrategy: Invalid value: must be 'RollingUpdate' or 'OnDelete'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(statefulSet())
			old.Generation = 3
			old.Status = appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 1}
			ss := old.DeepCopy()
			ss.Status = appsv1.StatefulSetStatus{}
			tt.modify(ss)
			s.PrepareForUpdate(ss, old)
			s.Default(ss)
			if ss.Generation != tt.wantGeneration {
				t.Errorf("generation %d, want %d", ss.Generation, tt.wantGeneration)
			}
			if ss.Status.ObservedGeneration != 3 || ss.Status.Replicas != 1 {
				t.Errorf("status %+v, want the stored one", ss.Status)
			}
			if got := summary(s.ValidateUpdate(ss, old)); !reflect.DeepEqual(got, tt.wantErrs) {
				t.Errorf("errors %q, want %q", got, tt.wantErrs)
			}
		})
	}
}

// TestUpdateOfInvalidStored: a set stored with what no longer validates stays
// updatable: its serviceName, claim templates and pod template are not checked, its
// Recreate strategy stays allowed, and its template's labels still are checked.
func TestUpdateOfInvalidStored(t *testing.T) {
	s := New()
	old := created(statefulSet())
	old.Spec.ServiceName = "db.svc"
	old.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil
	old.Spec.Template.Spec.Containers[0].Image = ""
	old.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RecreateStatefulSetStrategyType}
	ss := old.DeepCopy()
	ss.Spec.Replicas = ptr.To[int32](0)
	s.PrepareForUpdate(ss, old)
	s.Default(ss)
	if errs := s.ValidateUpdate(ss, old); len(errs) != 0 {
		t.Errorf("update of a stored invalid set: %v", errs)
	}
	ss.Spec.Template.Labels["-bad"] = "x"
	want := []string{
		"spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
		"spec.template.labels: Invalid value: name part must consist of alphanumeric characters, '-', '_' or '.', " +
			"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
	}
	ss.Spec.Template.Labels["app"] = "other"
	if got := summary(s.ValidateUpdate(ss, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n%q\nwant\n%q", got, want)
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	tests := []struct {
		name      string
		status    appsv1.StatefulSetStatus
		oldStatus appsv1.StatefulSetStatus
		want      []string
	}{
		{name: "valid", status: appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 2, CurrentReplicas: 2, UpdatedReplicas: 1, AvailableReplicas: 2}, want: []string{}},
		{
			name:   "negative",
			status: appsv1.StatefulSetStatus{ObservedGeneration: -1, CurrentReplicas: -1, CollisionCount: ptr.To[int32](-1)},
			want: []string{
				"status.currentReplicas: Invalid value: must be greater than or equal to 0",
				"status.observedGeneration: Invalid value: must be greater than or equal to 0",
				"status.collisionCount: Invalid value: must be greater than or equal to 0",
			},
		},
		{
			name:   "more than there are",
			status: appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, CurrentReplicas: 2, AvailableReplicas: 2},
			want: []string{
				"status.currentReplicas: Invalid value: cannot be greater than status.replicas",
				"status.availableReplicas: Invalid value: cannot be greater than status.replicas",
				"status.availableReplicas: Invalid value: cannot be greater than status.readyReplicas",
			},
		},
		{
			name:      "collision count removed",
			oldStatus: appsv1.StatefulSetStatus{CollisionCount: ptr.To[int32](1)},
			want:      []string{"status.collisionCount: Invalid value: cannot be decremented"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(statefulSet())
			old.Status = tt.oldStatus
			ss := old.DeepCopy()
			ss.Spec.Replicas = ptr.To[int32](7)
			ss.Status = tt.status
			s.PrepareForStatusUpdate(ss, old)
			if *ss.Spec.Replicas != 1 {
				t.Errorf("a status write changed spec.replicas to %d", *ss.Spec.Replicas)
			}
			if got := summary(s.ValidateStatusUpdate(ss, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTableScale(t *testing.T) {
	s := New()
	ss := created(statefulSet())
	ss.Spec.Replicas = ptr.To[int32](3)
	ss.Status = appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 1}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Ready", "Age", "Containers", "Images"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %q, want %q", names, want)
	}
	wantRow := []interface{}{"db", "1/3", "120m", "postgres", "postgres:17"}
	if got := s.Row(ss, now); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row %#v, want %#v", got, wantRow)
	}
	sc := s.(registry.Scaler)
	if spec, status, sel := sc.Replicas(ss); spec != 3 || status != 2 || sel != "app=db" {
		t.Errorf("Replicas = %d, %d, %q", spec, status, sel)
	}
	sc.SetReplicas(ss, 1)
	if *ss.Spec.Replicas != 1 {
		t.Errorf("SetReplicas left %d", *ss.Spec.Replicas)
	}
}
