package job

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const uid = types.UID("0b5c3d7e-1111-2222-3333-444455556666")

func newJob(spec batchv1.JobSpec) *batchv1.Job {
	if spec.Template.Spec.Containers == nil {
		spec.Template.Spec.Containers = []corev1.Container{{Name: "pi", Image: "perl:5.34"}}
	}
	if spec.Template.Spec.RestartPolicy == "" {
		spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	}
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: uid}, Spec: spec}
}

// created runs job through the create path as the API server does (which sets the UID
// before PrepareForCreate).
func created(t *testing.T, job *batchv1.Job) *batchv1.Job {
	t.Helper()
	s := New()
	s.PrepareForCreate(job)
	s.Default(job)
	return job
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
	if info.GroupVersionResource().String() != "batch/v1, Resource=jobs" || !info.Namespaced ||
		!reflect.DeepEqual(info.Categories, []string{"all"}) || len(info.ShortNames) != 0 ||
		!reflect.DeepEqual(info.Subresources, []string{"status"}) {
		t.Errorf("Info = %+v", info)
	}
	if o, ok := New().(registry.DependentsOrphaner); !ok || !o.OrphansDependentsByDefault() {
		t.Error("deleting a Job does not orphan its pods by default")
	}
}

// TestCreate: the server labels the template and selects on the UID, the Job takes
// the template's labels, and the result validates.
func TestCreate(t *testing.T) {
	job := newJob(batchv1.JobSpec{})
	job.Spec.Template.Labels = map[string]string{"app": "pi"}
	job.Status.Active = 3
	job.Spec.Scheduling = &batchv1.JobSchedulingConfiguration{}
	created(t, job)
	wantLabels := map[string]string{
		"app":                                "pi",
		"job-name":                           "pi",
		"controller-uid":                     string(uid),
		"batch.kubernetes.io/job-name":       "pi",
		"batch.kubernetes.io/controller-uid": string(uid),
	}
	if !reflect.DeepEqual(job.Spec.Template.Labels, wantLabels) || !reflect.DeepEqual(job.Labels, wantLabels) {
		t.Errorf("template labels %v, job labels %v; want %v", job.Spec.Template.Labels, job.Labels, wantLabels)
	}
	wantSelector := &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": string(uid)}}
	if !reflect.DeepEqual(job.Spec.Selector, wantSelector) {
		t.Errorf("selector %v, want %v", job.Spec.Selector, wantSelector)
	}
	if job.Generation != 1 || job.Status.Active != 0 || job.Spec.Scheduling != nil {
		t.Errorf("generation %d, status %+v, scheduling %v", job.Generation, job.Status, job.Spec.Scheduling)
	}
	if errs := New().Validate(job); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		spec batchv1.JobSpec
		want func(*batchv1.JobSpec) // sets the expected defaults on a copy of spec
	}{
		{
			name: "nothing set",
			want: func(s *batchv1.JobSpec) {
				s.Completions, s.Parallelism, s.BackoffLimit = ptr.To[int32](1), ptr.To[int32](1), ptr.To[int32](6)
				s.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
			},
		},
		{
			name: "parallelism only",
			spec: batchv1.JobSpec{Parallelism: ptr.To[int32](4)},
			want: func(s *batchv1.JobSpec) {
				s.BackoffLimit = ptr.To[int32](6)
				s.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
			},
		},
		{
			name: "backoff per index and a pod failure policy",
			spec: batchv1.JobSpec{
				Completions: ptr.To[int32](3), CompletionMode: ptr.To(batchv1.IndexedCompletion), BackoffLimitPerIndex: ptr.To[int32](1),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action:          batchv1.PodFailurePolicyActionIgnore,
					OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
				}}},
			},
			want: func(s *batchv1.JobSpec) {
				s.Parallelism, s.BackoffLimit = ptr.To[int32](1), ptr.To[int32](math.MaxInt32)
				s.PodReplacementPolicy = ptr.To(batchv1.Failed)
				s.PodFailurePolicy.Rules[0].OnPodConditions[0].Status = corev1.ConditionTrue
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(tt.spec)
			want := job.Spec.DeepCopy()
			tt.want(want)
			if want.CompletionMode == nil {
				want.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
			}
			want.Suspend, want.ManualSelector = ptr.To(false), ptr.To(false)
			New().Default(job)
			job.Spec.Template = want.Template // the pod package's defaults are not under test here
			if !reflect.DeepEqual(&job.Spec, want) {
				t.Errorf("spec\n got %+v\nwant %+v", job.Spec, *want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	indexed := func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.Completions = ptr.To[int32](4)
	}
	tests := []struct {
		name   string
		manual bool // create with spec.manualSelector
		mutate func(*batchv1.Job)
		want   []fieldError
	}{
		{name: "valid", mutate: func(*batchv1.Job) {}},
		{
			name:   "restartPolicy left to the pod default",
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.template.spec.restartPolicy"}},
		},
		{
			name: "OnFailure under a pod failure policy",
			mutate: func(j *batchv1.Job) {
				j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
					Action:      batchv1.PodFailurePolicyActionFailJob,
					OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
				}}}
				j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.template.spec.restartPolicy"}},
		},
		{
			name: "negative counts and durations",
			mutate: func(j *batchv1.Job) {
				j.Spec.Parallelism, j.Spec.BackoffLimit = ptr.To[int32](-1), ptr.To[int32](-1)
				j.Spec.ActiveDeadlineSeconds, j.Spec.TTLSecondsAfterFinished = ptr.To[int64](-1), ptr.To[int32](-1)
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.parallelism"},
				{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
				{field.ErrorTypeInvalid, "spec.backoffLimit"},
				{field.ErrorTypeInvalid, "spec.ttlSecondsAfterFinished"},
			},
		},
		{
			name: "zero deadline and ttl",
			mutate: func(j *batchv1.Job) {
				j.Spec.ActiveDeadlineSeconds, j.Spec.TTLSecondsAfterFinished = ptr.To[int64](0), ptr.To[int32](0)
			},
		},
		{
			name: "per-index fields on a NonIndexed Job",
			mutate: func(j *batchv1.Job) {
				j.Spec.BackoffLimitPerIndex, j.Spec.MaxFailedIndexes = ptr.To[int32](1), ptr.To[int32](1)
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.backoffLimitPerIndex"},
				{field.ErrorTypeInvalid, "spec.maxFailedIndexes"},
			},
		},
		{
			name: "Indexed without completions",
			mutate: func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				j.Spec.Completions = nil
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.completions"}},
		},
		{
			name:   "unknown completion mode",
			mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.CompletionMode("Sometimes")) },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.completionMode"}},
		},
		{
			name: "maxFailedIndexes without backoffLimitPerIndex, above completions",
			mutate: func(j *batchv1.Job) {
				indexed(j)
				j.Spec.MaxFailedIndexes = ptr.To[int32](5)
			},
			want: []fieldError{
				{field.ErrorTypeRequired, "spec.backoffLimitPerIndex"},
				{field.ErrorTypeInvalid, "spec.maxFailedIndexes"},
			},
		},
		{
			name: "Indexed name too long for pod hostnames",
			mutate: func(j *batchv1.Job) {
				indexed(j)
				j.Name = strings.Repeat("a", 62)
				j.Labels = nil
				delete(j.Spec.Template.Labels, "job-name")
				delete(j.Spec.Template.Labels, batchv1.JobNameLabel)
				generateSelector(j)
			},
			want: []fieldError{{field.ErrorTypeInvalid, "metadata.name"}},
		},
		{
			name:   "success policy on a NonIndexed Job",
			mutate: func(j *batchv1.Job) { j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{} },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.successPolicy"}},
		},
		{
			name: "success policy rules",
			mutate: func(j *batchv1.Job) {
				indexed(j)
				j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
					{},
					{SucceededIndexes: ptr.To("0-2,1")},
					{SucceededIndexes: ptr.To("0,2"), SucceededCount: ptr.To[int32](3)},
					{SucceededCount: ptr.To[int32](5)},
					{SucceededIndexes: ptr.To("1-3"), SucceededCount: ptr.To[int32](2)},
				}}
			},
			want: []fieldError{
				{field.ErrorTypeRequired, "spec.successPolicy.rules[0]"},
				{field.ErrorTypeInvalid, "spec.successPolicy.rules[1].succeededIndexes"},
				{field.ErrorTypeInvalid, "spec.successPolicy.rules[2].succeededCount"},
				{field.ErrorTypeInvalid, "spec.successPolicy.rules[3].succeededCount"},
			},
		},
		{
			name: "pod failure policy rules",
			mutate: func(j *batchv1.Job) {
				j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
					{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{0, 5, 5, 3}, ContainerName: ptr.To("nope"),
					}},
					{Action: "Explode"},
					{
						Action:          batchv1.PodFailurePolicyActionIgnore,
						OnExitCodes:     &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}},
						OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "bad type", Status: "Maybe"}},
					},
				}}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0].action"},
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0].onExitCodes.containerName"},
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0].onExitCodes.values[0]"},
				{field.ErrorTypeDuplicate, "spec.podFailurePolicy.rules[0].onExitCodes.values[2]"},
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0].onExitCodes.values"},
				{field.ErrorTypeNotSupported, "spec.podFailurePolicy.rules[1].action"},
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[1]"},
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[2].onPodConditions[0].type"},
				{field.ErrorTypeNotSupported, "spec.podFailurePolicy.rules[2].onPodConditions[0].status"},
				{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[2]"},
			},
		},
		{
			name: "replacement policy under a pod failure policy",
			mutate: func(j *batchv1.Job) {
				j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{}
				j.Spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.podReplacementPolicy"}},
		},
		{
			name:   "invalid managedBy",
			mutate: func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("no-domain") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.managedBy"}},
		},
		{
			name:   "a generated label set by the client",
			mutate: func(j *batchv1.Job) { j.Spec.Template.Labels["job-name"] = "other" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.metadata.labels[job-name]"}},
		},
		{
			name:   "a selector that was not generated",
			mutate: func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["app"] = "pi" },
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.selector"},
				{field.ErrorTypeInvalid, "spec.template.metadata.labels"},
			},
		},
		{
			name:   "manual selector missing",
			manual: true,
			mutate: func(j *batchv1.Job) {},
			want: []fieldError{
				{field.ErrorTypeRequired, "spec.selector"},
				{field.ErrorTypeInvalid, "spec.template.metadata.labels"},
			},
		},
		{
			name:   "manual selector",
			manual: true,
			mutate: func(j *batchv1.Job) {
				j.Spec.Template.Labels = map[string]string{"app": "pi"}
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := newJob(batchv1.JobSpec{ManualSelector: ptr.To(tt.manual)})
			created(t, job)
			tt.mutate(job)
			if got := summarize(New().Validate(job)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	suspended := func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }
	tests := []struct {
		name   string
		stored func(*batchv1.Job) // applied to the stored Job
		mutate func(*batchv1.Job) // applied to the update
		want   []fieldError
		bump   bool // the update moves the generation
	}{
		{name: "no change", mutate: func(*batchv1.Job) {}},
		{name: "labels only", mutate: func(j *batchv1.Job) { j.Labels = map[string]string{"x": "y"} }},
		{
			name: "ttl and deadline may change",
			mutate: func(j *batchv1.Job) {
				j.Spec.TTLSecondsAfterFinished, j.Spec.ActiveDeadlineSeconds = ptr.To[int32](60), ptr.To[int64](600)
			},
			bump: true,
		},
		{name: "suspend", mutate: suspended, bump: true},
		{
			name:   "selector",
			mutate: func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["job-name"] = "pi" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.selector"}},
			bump:   true,
		},
		{
			name:   "completions of a NonIndexed Job",
			mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.completions"}},
			bump:   true,
		},
		{
			name:   "completion mode",
			mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.completionMode"}},
			bump:   true,
		},
		{
			name:   "template of a running Job",
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.template"}},
			bump:   true,
		},
		{
			name:   "scheduling directives and resources of a suspended Job",
			stored: suspended,
			mutate: func(j *batchv1.Job) {
				j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
				j.Spec.Template.Annotations = map[string]string{"note": "x"}
				j.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
			},
			bump: true,
		},
		{
			name:   "image of a suspended Job",
			stored: suspended,
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.36" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.template.spec"}},
			bump:   true,
		},
		{
			name: "template of a suspended Job with active pods",
			stored: func(j *batchv1.Job) {
				suspended(j)
				j.Status.Active = 1
			},
			mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.template"}},
			bump:   true,
		},
		{
			name: "Indexed completions with parallelism",
			stored: func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](3)
			},
			mutate: func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](2), ptr.To[int32](2) },
			bump:   true,
		},
		{
			name: "Indexed completions alone",
			stored: func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](3)
			},
			mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.completions"}},
			bump:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			stored := newJob(batchv1.JobSpec{})
			if tt.stored != nil {
				tt.stored(stored)
			}
			created(t, stored)
			stored.Status.Active = 0
			if tt.stored != nil {
				tt.stored(stored) // again, for the status PrepareForCreate cleared
			}
			next := stored.DeepCopy()
			next.Status = batchv1.JobStatus{Succeeded: 99}
			tt.mutate(next)
			s.PrepareForUpdate(next, stored)
			s.Default(next)
			if next.Status.Succeeded != 0 {
				t.Errorf("the update wrote status: %+v", next.Status)
			}
			if bumped := next.Generation != stored.Generation; bumped != tt.bump {
				t.Errorf("generation %d -> %d, want bumped %v", stored.Generation, next.Generation, tt.bump)
			}
			if got := summarize(s.ValidateUpdate(next, stored)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	start := metav1.NewTime(now.Add(-time.Minute))
	end := metav1.NewTime(now)
	cond := func(t batchv1.JobConditionType) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue}
	}
	tests := []struct {
		name   string
		old    batchv1.JobStatus
		status batchv1.JobStatus
		want   []fieldError
	}{
		{name: "progress", status: batchv1.JobStatus{Active: 1, Ready: ptr.To[int32](1), StartTime: &start}},
		{
			name:   "complete",
			old:    batchv1.JobStatus{StartTime: &start, Active: 1},
			status: batchv1.JobStatus{StartTime: &start, CompletionTime: &end, Succeeded: 1, Conditions: []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet), cond(batchv1.JobComplete)}},
		},
		{
			name:   "negative and more ready than active",
			status: batchv1.JobStatus{Active: -1, Ready: ptr.To[int32](2)},
			want: []fieldError{
				{field.ErrorTypeInvalid, "status.active"},
				{field.ErrorTypeInvalid, "status.ready"},
			},
		},
		{
			name:   "counters going down",
			old:    batchv1.JobStatus{Succeeded: 2, Failed: 2},
			status: batchv1.JobStatus{Succeeded: 1, Failed: 1},
			want: []fieldError{
				{field.ErrorTypeInvalid, "status.failed"},
				{field.ErrorTypeInvalid, "status.succeeded"},
			},
		},
		{
			name:   "complete without its time and criteria",
			old:    batchv1.JobStatus{StartTime: &start},
			status: batchv1.JobStatus{StartTime: &start, Conditions: []batchv1.JobCondition{cond(batchv1.JobComplete)}},
			want: []fieldError{
				{field.ErrorTypeRequired, "status.completionTime"},
				{field.ErrorTypeInvalid, "status.conditions"},
			},
		},
		{
			name:   "failed without a failure target or start time",
			status: batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{cond(batchv1.JobFailed)}},
			want: []fieldError{
				{field.ErrorTypeInvalid, "status.conditions"},
				{field.ErrorTypeInvalid, "status.active"},
				{field.ErrorTypeRequired, "status.startTime"},
			},
		},
		{
			name:   "terminal condition dropped",
			old:    batchv1.JobStatus{StartTime: &start, Conditions: []batchv1.JobCondition{cond(batchv1.JobFailureTarget), cond(batchv1.JobFailed)}},
			status: batchv1.JobStatus{StartTime: &start},
			want: []fieldError{
				{field.ErrorTypeInvalid, "status.conditions"},
				{field.ErrorTypeInvalid, "status.conditions"},
			},
		},
		{
			name:   "start time moved while running",
			old:    batchv1.JobStatus{StartTime: &start},
			status: batchv1.JobStatus{StartTime: &end},
			want:   []fieldError{{field.ErrorTypeInvalid, "status.startTime"}},
		},
		{
			name:   "completed indexes on a NonIndexed Job",
			status: batchv1.JobStatus{CompletedIndexes: "0"},
			want:   []fieldError{{field.ErrorTypeInvalid, "status.completedIndexes"}},
		},
		{
			name:   "duplicate uncounted pods",
			status: batchv1.JobStatus{UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a"}, Failed: []types.UID{"a", ""}}},
			want: []fieldError{
				{field.ErrorTypeDuplicate, "status.uncountedTerminatedPods.failed[0]"},
				{field.ErrorTypeInvalid, "status.uncountedTerminatedPods.failed[1]"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			stored := created(t, newJob(batchv1.JobSpec{}))
			stored.Status = tt.old
			next := stored.DeepCopy()
			next.Spec.Parallelism = ptr.To[int32](9)
			next.Status = tt.status
			s.PrepareForStatusUpdate(next, stored)
			if *next.Spec.Parallelism != 1 {
				t.Errorf("the status update wrote spec.parallelism %d", *next.Spec.Parallelism)
			}
			if got := summarize(s.ValidateStatusUpdate(next, stored)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateStatusUpdate = %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestIndexes(t *testing.T) {
	tests := []struct {
		in      string
		want    int32
		wantErr string
	}{
		{in: "", want: 0},
		{in: "0,2-4,7", want: 5},
		{in: "1-2-3", wantErr: `the fragment "1-2-3" violates the requirement that an index interval can have at most two parts separated by '-'`},
		{in: "a", wantErr: `cannot convert string to integer for index: "a"`},
		{in: "8", wantErr: `too large index: "8"`},
		{in: "3-1", wantErr: "non-increasing order, previous: 3, current: 1"},
		{in: "0-2,2", wantErr: "non-increasing order, previous: 2, current: 2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := countIndexes(tt.in, 8)
			if (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) || got != tt.want {
				t.Errorf("countIndexes(%q) = %d, %v; want %d, %q", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if i, ok := firstOverlap("0-2,5", "x,3-4,5-6", 8); !ok || i != 5 {
		t.Errorf("firstOverlap = %d, %v; want 5, true", i, ok)
	}
	if _, ok := firstOverlap("0-2", "3-4", 8); ok {
		t.Error("disjoint lists overlap")
	}
}

func TestFields(t *testing.T) {
	job := created(t, newJob(batchv1.JobSpec{}))
	job.Status.Succeeded = 3
	want := fields.Set{"metadata.name": "pi", "metadata.namespace": "default", "status.successful": "3"}
	if got := New().Fields(job); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestTable(t *testing.T) {
	started := metav1.NewTime(now.Add(-2 * time.Minute))
	finished := metav1.NewTime(now.Add(-30 * time.Second))
	deleted := metav1.NewTime(now)
	cond := func(t batchv1.JobConditionType, s corev1.ConditionStatus) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: s}
	}
	tests := []struct {
		name        string
		mutate      func(*batchv1.Job)
		status      string
		completions string
		jobDuration string
	}{
		{name: "new", mutate: func(*batchv1.Job) {}, status: "Running", completions: "0/1"},
		{
			name: "running",
			mutate: func(j *batchv1.Job) {
				j.Status.StartTime = &started
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionFalse)}
			},
			status: "Running", completions: "0/1", jobDuration: "2m",
		},
		{
			name: "complete",
			mutate: func(j *batchv1.Job) {
				j.Status.StartTime, j.Status.CompletionTime, j.Status.Succeeded = &started, &finished, 1
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue), cond(batchv1.JobComplete, corev1.ConditionTrue)}
			},
			status: "Complete", completions: "1/1", jobDuration: "90s",
		},
		{
			name: "failing, being deleted",
			mutate: func(j *batchv1.Job) {
				j.DeletionTimestamp = &deleted
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue)}
			},
			status: "Terminating", completions: "0/1",
		},
		{
			name: "failure target",
			mutate: func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue)}
			},
			status: "FailureTarget", completions: "0/1",
		},
		{
			name: "success criteria met",
			mutate: func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)}
			},
			status: "SuccessCriteriaMet", completions: "0/1",
		},
		{
			name: "suspended work queue",
			mutate: func(j *batchv1.Job) {
				j.Spec.Completions, j.Spec.Parallelism = nil, ptr.To[int32](3)
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobSuspended, corev1.ConditionTrue)}
			},
			status: "Suspended", completions: "0/1 of 3",
		},
		{
			name: "failed",
			mutate: func(j *batchv1.Job) {
				j.Spec.Completions = ptr.To[int32](5)
				j.Status.Succeeded = 2
				j.Status.Conditions = []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue), cond(batchv1.JobFailed, corev1.ConditionTrue)}
			},
			status: "Failed", completions: "2/5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := created(t, newJob(batchv1.JobSpec{}))
			job.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Minute))
			tt.mutate(job)
			want := []interface{}{"pi", tt.status, tt.completions, tt.jobDuration, "5m", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=" + string(uid)}
			if got := New().Row(job, now); !reflect.DeepEqual(got, want) {
				t.Errorf("Row = %#v\nwant %#v", got, want)
			}
		})
	}
	var names []string
	for _, c := range New().Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Columns = %v, want %v", names, want)
	}
}
