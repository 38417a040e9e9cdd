package cronjob

import (
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newCronJob(schedule string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyOnFailure,
				Containers:    []corev1.Container{{Name: "dump", Image: "postgres:17"}},
			}}}},
		},
	}
}

func created(t *testing.T, cj *batchv1.CronJob) *batchv1.CronJob {
	t.Helper()
	s := New()
	s.PrepareForCreate(cj)
	s.Default(cj)
	return cj
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
	if info.GroupVersionResource().String() != "batch/v1, Resource=cronjobs" || !info.Namespaced ||
		!reflect.DeepEqual(info.ShortNames, []string{"cj"}) || !reflect.DeepEqual(info.Categories, []string{"all"}) ||
		!reflect.DeepEqual(info.Subresources, []string{"status"}) {
		t.Errorf("Info = %+v", info)
	}
}

// TestDefault: the CronJob's own defaults apply, the job template gets only its pod
// template's (no parallelism, backoffLimit or selector until a Job is made from it).
func TestDefault(t *testing.T) {
	cj := newCronJob("*/5 * * * *")
	cj.Status.Active = []corev1.ObjectReference{{Name: "x"}}
	created(t, cj)
	spec := cj.Spec
	if spec.ConcurrencyPolicy != batchv1.AllowConcurrent || !ptr.Equal(spec.Suspend, ptr.To(false)) ||
		!ptr.Equal(spec.SuccessfulJobsHistoryLimit, ptr.To[int32](3)) || !ptr.Equal(spec.FailedJobsHistoryLimit, ptr.To[int32](1)) {
		t.Errorf("defaults: %+v", spec)
	}
	js := spec.JobTemplate.Spec
	if js.Parallelism != nil || js.BackoffLimit != nil || js.Selector != nil || js.Template.Labels != nil || js.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("job template defaults: %+v", js)
	}
	if cj.Generation != 1 || len(cj.Status.Active) != 0 {
		t.Errorf("generation %d, status %+v", cj.Generation, cj.Status)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*batchv1.CronJob)
		want   []fieldError
	}{
		{name: "valid", mutate: func(*batchv1.CronJob) {}},
		{name: "macro", mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }},
		{name: "time zone", mutate: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Europe/Paris") }},
		{
			name:   "no schedule",
			mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "" },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.schedule"}},
		},
		{
			name:   "six fields",
			mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "0 */5 * * * *" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.schedule"}},
		},
		{
			name:   "time zone in the schedule",
			mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "CRON_TZ=UTC 0 * * * *" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.schedule"}},
		},
		{
			name:   "bare TZ prefix",
			mutate: func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.schedule"}, {field.ErrorTypeInvalid, "spec.schedule"}},
		},
		{
			name:   "unknown time zone",
			mutate: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Mars/Olympus") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.timeZone"}},
		},
		{
			name:   "Local time zone",
			mutate: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Local") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.timeZone"}},
		},
		{
			name:   "malformed time zone",
			mutate: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("../etc") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.timeZone"}},
		},
		{
			name: "negative limits and deadline",
			mutate: func(c *batchv1.CronJob) {
				c.Spec.StartingDeadlineSeconds = ptr.To[int64](-1)
				c.Spec.SuccessfulJobsHistoryLimit, c.Spec.FailedJobsHistoryLimit = ptr.To[int32](-1), ptr.To[int32](-1)
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.startingDeadlineSeconds"},
				{field.ErrorTypeInvalid, "spec.successfulJobsHistoryLimit"},
				{field.ErrorTypeInvalid, "spec.failedJobsHistoryLimit"},
			},
		},
		{
			name:   "unknown concurrency policy",
			mutate: func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.concurrencyPolicy"}},
		},
		{
			name: "selector in the job template",
			mutate: func(c *batchv1.CronJob) {
				c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{}
				c.Spec.JobTemplate.Spec.ManualSelector = ptr.To(true)
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.jobTemplate.spec.selector"},
				{field.ErrorTypeNotSupported, "spec.jobTemplate.spec.manualSelector"},
			},
		},
		{
			name: "job template pods that always restart",
			mutate: func(c *batchv1.CronJob) {
				c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.jobTemplate.spec.template.spec.restartPolicy"}},
		},
		{
			name:   "name too long",
			mutate: func(c *batchv1.CronJob) { c.Name = strings.Repeat("b", 53) },
			want:   []fieldError{{field.ErrorTypeInvalid, "metadata.name"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cj := created(t, newCronJob("0 3 * * *"))
			tt.mutate(cj)
			if got := summarize(New().Validate(cj)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestUpdate: what older CronJobs were stored with stays acceptable on update (a long
// name, a TZ in the schedule, an unchanged time zone); a spec change bumps the
// generation and the status stays.
func TestUpdate(t *testing.T) {
	s := New()
	stored := created(t, newCronJob("TZ=UTC 0 3 * * *"))
	stored.Name = strings.Repeat("b", 60)
	stored.Status.LastScheduleTime = &metav1.Time{Time: now}

	next := stored.DeepCopy()
	next.Status = batchv1.CronJobStatus{}
	next.Labels = map[string]string{"team": "db"}
	s.PrepareForUpdate(next, stored)
	s.Default(next)
	if next.Generation != stored.Generation || next.Status.LastScheduleTime == nil {
		t.Errorf("metadata update: generation %d -> %d, status %+v", stored.Generation, next.Generation, next.Status)
	}
	if errs := s.ValidateUpdate(next, stored); len(errs) != 0 {
		t.Errorf("ValidateUpdate: %v", errs)
	}

	suspended := next.DeepCopy()
	suspended.Spec.Suspend = ptr.To(true)
	suspended.Spec.TimeZone = ptr.To("UTC")
	s.PrepareForUpdate(suspended, next)
	if suspended.Generation != next.Generation+1 {
		t.Errorf("spec update: generation %d -> %d", next.Generation, suspended.Generation)
	}
	want := []fieldError{{field.ErrorTypeInvalid, "spec.schedule"}}
	if got := summarize(s.ValidateUpdate(suspended, next)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateUpdate = %v, want %v", got, want)
	}

	status := stored.DeepCopy()
	status.Spec.Schedule = "bogus"
	s.PrepareForStatusUpdate(status, stored)
	if status.Spec.Schedule != stored.Spec.Schedule || len(s.ValidateStatusUpdate(status, stored)) != 0 {
		t.Errorf("status update changed the spec: %+v", status.Spec)
	}
}

func TestTable(t *testing.T) {
	cj := created(t, newCronJob("0 3 * * *"))
	cj.CreationTimestamp = metav1.NewTime(now.Add(-48 * time.Hour))
	want := []interface{}{"backup", "0 3 * * *", "<none>", "False", int64(0), "<none>", "2d", "dump", "postgres:17", "<none>"}
	if got := New().Row(cj, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v\nwant %#v", got, want)
	}
	cj.Spec.TimeZone, cj.Spec.Suspend = ptr.To("Asia/Tokyo"), ptr.To(true)
	cj.Status.Active = []corev1.ObjectReference{{Name: "backup-1"}}
	cj.Status.LastScheduleTime = &metav1.Time{Time: now.Add(-5 * time.Minute)}
	want = []interface{}{"backup", "0 3 * * *", "Asia/Tokyo", "True", int64(1), "5m", "2d", "dump", "postgres:17", "<none>"}
	if got := New().Row(cj, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v\nwant %#v", got, want)
	}
	var names []string
	for _, c := range New().Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images", "Selector"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Columns = %v, want %v", names, want)
	}
}
