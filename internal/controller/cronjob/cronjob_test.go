package cronjob

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// harness runs the controller's sync against a fake API. Its informers are not
// started: before every sync the listers are loaded with what the API holds, so the
// tests need no waiting.
type harness struct {
	t        *testing.T
	client   *fake.Clientset
	c        *Controller
	clock    *clocktesting.FakeClock
	recorder *record.FakeRecorder
	cronJobs cache.Indexer
	jobs     cache.Indexer
}

func newHarness(t *testing.T, now time.Time, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewClientset(objs...)
	client.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		j := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		j.UID = types.UID("uid-" + j.Name)
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: client, c: c, clock: clocktesting.NewFakeClock(now), recorder: record.NewFakeRecorder(1000),
		cronJobs: factory.Batch().V1().CronJobs().Informer().GetIndexer(), jobs: factory.Batch().V1().Jobs().Informer().GetIndexer()}
	c.clock, c.recorder, c.local = h.clock, h.recorder, time.UTC
	return h
}

// sync syncs CronJob ns/name at the fake clock's time and returns its requeue delay.
func (h *harness) sync(name string) time.Duration {
	h.t.Helper()
	cjs, err := h.client.BatchV1().CronJobs("").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	jobs, err := h.client.BatchV1().Jobs("").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var objs []any
	for i := range cjs.Items {
		objs = append(objs, &cjs.Items[i])
	}
	if err := h.cronJobs.Replace(objs, ""); err != nil {
		h.t.Fatal(err)
	}
	objs = nil
	for i := range jobs.Items {
		objs = append(objs, &jobs.Items[i])
	}
	if err := h.jobs.Replace(objs, ""); err != nil {
		h.t.Fatal(err)
	}
	again, err := h.c.sync(h.t.Context(), "ns/"+name)
	if err != nil {
		h.t.Fatalf("sync at %v: %v", h.clock.Now(), err)
	}
	return again
}

// events returns the events recorded since the last call, as "Type Reason Message".
func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (h *harness) expectEvents(want ...string) {
	h.t.Helper()
	got := h.events()
	if !slices.Equal(got, want) {
		h.t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func (h *harness) jobNames() []string {
	h.t.Helper()
	jobs, err := h.client.BatchV1().Jobs("ns").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, j := range jobs.Items {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	return names
}

func (h *harness) expectJobs(want ...string) {
	h.t.Helper()
	if got := h.jobNames(); !slices.Equal(got, want) {
		h.t.Fatalf("jobs %v, want %v", got, want)
	}
}

func (h *harness) cronJob(name string) *batchv1.CronJob {
	h.t.Helper()
	cj, err := h.client.BatchV1().CronJobs("ns").Get(h.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return cj
}

func (h *harness) expectActive(name string, want ...string) {
	h.t.Helper()
	var got []string
	for _, r := range h.cronJob(name).Status.Active {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, want) {
		h.t.Fatalf("status.active %v, want %v", got, want)
	}
}

// finish marks a Job finished with condition cond at the fake clock's time.
func (h *harness) finish(name string, cond batchv1.JobConditionType) {
	h.t.Helper()
	j, err := h.client.BatchV1().Jobs("ns").Get(h.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	now := metav1.NewTime(h.clock.Now())
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: cond, Status: corev1.ConditionTrue})
	if cond == batchv1.JobComplete {
		j.Status.CompletionTime = &now
	}
	if _, err := h.client.BatchV1().Jobs("ns").UpdateStatus(h.t.Context(), j, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// set moves the fake clock to an RFC 3339 time.
func (h *harness) set(s string) { h.clock.SetTime(at(s)) }

func newCronJob(name, schedule, created string, mut ...func(*batchv1.CronJob)) *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), CreationTimestamp: metav1.NewTime(at(created))},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3), FailedJobsHistoryLimit: ptr.To[int32](1),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "tick"}, Annotations: map[string]string{"note": "hi"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
			},
		},
	}
	for _, m := range mut {
		m(cj)
	}
	return cj
}

// nameAt is the Job name for a start at an RFC 3339 time.
func nameAt(cj, s string) string { return fmt.Sprintf("%s-%d", cj, at(s).Unix()/60) }

func TestEveryMinute(t *testing.T) {
	cj := newCronJob("tick", "* * * * *", "2024-05-01T10:00:30Z")
	h := newHarness(t, at("2024-05-01T10:00:30Z"), cj)

	if got, want := h.sync("tick"), 30*time.Second+nextScheduleDelta; got != want {
		t.Fatalf("requeue %v, want %v", got, want)
	}
	h.expectJobs()

	h.set("2024-05-01T10:01:00.1Z")
	if got, want := h.sync("tick"), time.Minute; got != want {
		t.Fatalf("requeue %v, want %v", got, want)
	}
	first := nameAt("tick", "2024-05-01T10:01:00Z")
	h.expectJobs(first)
	h.expectEvents("Normal SuccessfulCreate Created job " + first)
	job, err := h.client.BatchV1().Jobs("ns").Get(t.Context(), first, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2024-05-01T10:01:00Z" {
		t.Errorf("scheduled-timestamp annotation %q", got)
	}
	if job.Annotations["note"] != "hi" || job.Labels["app"] != "tick" {
		t.Errorf("template metadata not copied: labels %v, annotations %v", job.Labels, job.Annotations)
	}
	if ref := metav1.GetControllerOf(job); ref == nil || ref.UID != cj.UID || ref.Kind != "CronJob" || ref.APIVersion != "batch/v1" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("controller reference %+v", ref)
	}
	if job.Spec.Template.Spec.Containers[0].Image != "busybox" {
		t.Errorf("job spec %+v", job.Spec)
	}
	got := h.cronJob("tick")
	if len(got.Status.Active) != 1 || got.Status.Active[0] != (corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: "ns", Name: first, UID: job.UID}) {
		t.Errorf("status.active %+v", got.Status.Active)
	}
	if lst := got.Status.LastScheduleTime; lst == nil || !lst.Time.Equal(at("2024-05-01T10:01:00Z")) {
		t.Errorf("lastScheduleTime %v", lst)
	}

	// A second look at the same time starts nothing more.
	h.set("2024-05-01T10:01:20Z")
	if got, want := h.sync("tick"), 40*time.Second+nextScheduleDelta; got != want {
		t.Fatalf("requeue %v, want %v", got, want)
	}
	h.expectJobs(first)
	h.expectEvents()

	h.set("2024-05-01T10:02:00.1Z")
	h.sync("tick")
	second := nameAt("tick", "2024-05-01T10:02:00Z")
	h.expectJobs(first, second)
	h.expectActive("tick", first, second)
	h.expectEvents("Normal SuccessfulCreate Created job " + second)

	// A status update lost after the Job was made: the retry finds the Job by its
	// name, makes no second one and records it.
	lost := h.cronJob("tick")
	lost.Status.Active = lost.Status.Active[:1]
	lost.Status.LastScheduleTime = &metav1.Time{Time: at("2024-05-01T10:01:00Z")}
	if _, err := h.client.BatchV1().CronJobs("ns").UpdateStatus(t.Context(), lost, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("tick")
	h.expectJobs(first, second)
	h.expectActive("tick", first, second)
	h.expectEvents("Warning UnexpectedJob Saw a job that the controller did not create or forgot: " + second)
}

func TestTimeZone(t *testing.T) {
	tokyo := newCronJob("tokyo", "0 9 * * *", "2024-05-01T23:00:00Z", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Asia/Tokyo") })
	local := newCronJob("local", "0 9 * * *", "2024-05-01T23:00:00Z")
	mars := newCronJob("mars", "0 9 * * *", "2024-05-01T23:00:00Z", func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Mars/Olympus") })
	h := newHarness(t, at("2024-05-01T23:00:00Z"), tokyo, local, mars)
	h.c.local = time.FixedZone("UTC+9", 9*3600)

	// 09:00 in Tokyo is midnight UTC.
	if got, want := h.sync("tokyo"), time.Hour+nextScheduleDelta; got != want {
		t.Fatalf("requeue %v, want %v", got, want)
	}
	h.set("2024-05-02T00:00:00.1Z")
	h.sync("tokyo")
	name := nameAt("tokyo", "2024-05-02T00:00:00Z")
	h.expectJobs(name)
	job, _ := h.client.BatchV1().Jobs("ns").Get(t.Context(), name, metav1.GetOptions{})
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2024-05-02T09:00:00+09:00" {
		t.Errorf("scheduled-timestamp annotation %q, want the CronJob's zone", got)
	}
	h.events()

	// Without spec.timeZone the schedule is read in the controller's zone, and the
	// annotation is in UTC.
	h.sync("local")
	name = nameAt("local", "2024-05-02T00:00:00Z")
	h.expectJobs(name, nameAt("tokyo", "2024-05-02T00:00:00Z"))
	job, _ = h.client.BatchV1().Jobs("ns").Get(t.Context(), name, metav1.GetOptions{})
	if got := job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2024-05-02T00:00:00Z" {
		t.Errorf("scheduled-timestamp annotation %q, want UTC", got)
	}
	h.events()

	if got := h.sync("mars"); got != 0 {
		t.Errorf("unknown zone: requeue %v", got)
	}
	h.expectEvents(`Warning UnknownTimeZone invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus`)
	h.expectJobs(name, nameAt("tokyo", "2024-05-02T00:00:00Z"))
}

func TestForbid(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:01:00.1Z"), newCronJob("forbid", "* * * * *", "2024-05-01T10:00:30Z", func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	}))
	h.sync("forbid")
	first := nameAt("forbid", "2024-05-01T10:01:00Z")
	h.expectJobs(first)
	h.events()

	h.set("2024-05-01T10:02:00.1Z")
	if got := h.sync("forbid"); got != time.Minute {
		t.Fatalf("requeue %v, want a minute", got)
	}
	h.expectJobs(first)
	h.expectEvents("Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid")

	// Once the running Job finishes, the start it held back is made, late.
	h.set("2024-05-01T10:02:30Z")
	h.finish(first, batchv1.JobComplete)
	h.sync("forbid")
	second := nameAt("forbid", "2024-05-01T10:02:00Z")
	h.expectJobs(first, second)
	h.expectActive("forbid", second)
	h.expectEvents("Normal SawCompletedJob Saw completed job: "+first+", condition: Complete", "Normal SuccessfulCreate Created job "+second)
}

func TestReplace(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:01:00.1Z"), newCronJob("replace", "* * * * *", "2024-05-01T10:00:30Z", func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
	}))
	h.sync("replace")
	first := nameAt("replace", "2024-05-01T10:01:00Z")
	h.events()

	h.set("2024-05-01T10:02:00.1Z")
	h.client.ClearActions()
	h.sync("replace")
	second := nameAt("replace", "2024-05-01T10:02:00Z")
	h.expectJobs(second)
	h.expectActive("replace", second)
	h.expectEvents("Normal SuccessfulDelete Deleted job "+first, "Normal SuccessfulCreate Created job "+second)
	expectBackgroundDeletes(t, h.client, first)
}

func expectBackgroundDeletes(t *testing.T, client *fake.Clientset, names ...string) {
	t.Helper()
	var deleted []string
	for _, a := range client.Actions() {
		d, ok := a.(k8stesting.DeleteAction)
		if !ok || a.GetResource().Resource != "jobs" {
			continue
		}
		if p := d.GetDeleteOptions().PropagationPolicy; p == nil || *p != metav1.DeletePropagationBackground {
			t.Errorf("delete of %s: propagation %v, want Background", d.GetName(), p)
		}
		deleted = append(deleted, d.GetName())
	}
	slices.Sort(deleted)
	slices.Sort(names)
	if !slices.Equal(deleted, names) {
		t.Errorf("deleted %v, want %v", deleted, names)
	}
}

func TestStartingDeadline(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:01:30Z"), newCronJob("late", "* * * * *", "2024-05-01T10:00:30Z", func(cj *batchv1.CronJob) {
		cj.Spec.StartingDeadlineSeconds = ptr.To[int64](10)
	}))
	// The controller was away at 10:01; 30 s late is past the 10 s deadline.
	if got, want := h.sync("late"), 30*time.Second+nextScheduleDelta; got != want {
		t.Fatalf("requeue %v, want %v", got, want)
	}
	h.expectJobs()
	h.expectEvents("Warning MissSchedule Missed scheduled time to start a job: Wed, 01 May 2024 10:01:00 +0000")

	h.set("2024-05-01T10:02:05Z")
	h.sync("late")
	h.expectJobs(nameAt("late", "2024-05-01T10:02:00Z"))
}

func TestTooManyMissed(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:01:30Z"), newCronJob("old", "* * * * *", "2024-04-01T00:00:00Z"))
	h.sync("old")
	h.expectEvents("Warning TooManyMissedTimes too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
		"Normal SuccessfulCreate Created job "+nameAt("old", "2024-05-01T10:01:00Z"))
	h.expectJobs(nameAt("old", "2024-05-01T10:01:00Z"))
}

func TestSuspend(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:05:10Z"), newCronJob("paused", "* * * * *", "2024-05-01T10:00:30Z", func(cj *batchv1.CronJob) {
		cj.Spec.Suspend = ptr.To(true)
	}))
	if got := h.sync("paused"); got != 0 {
		t.Errorf("suspended: requeue %v", got)
	}
	h.expectJobs()
	h.expectEvents()

	// Resumed, it makes the most recent missed start only.
	cj := h.cronJob("paused")
	cj.Spec.Suspend = ptr.To(false)
	if _, err := h.client.BatchV1().CronJobs("ns").Update(t.Context(), cj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("paused")
	h.expectJobs(nameAt("paused", "2024-05-01T10:05:00Z"))
}

func TestHistoryLimits(t *testing.T) {
	cj := newCronJob("hist", "* * * * *", "2024-05-01T10:00:00Z", func(cj *batchv1.CronJob) {
		cj.Spec.Suspend = ptr.To(true)
		cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](1)
		cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	})
	job := func(name string, minute int, cond batchv1.JobConditionType) *batchv1.Job {
		started := metav1.NewTime(at("2024-05-01T10:00:00Z").Add(time.Duration(minute) * time.Minute))
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, controllerKind)}},
			Status: batchv1.JobStatus{StartTime: &started}}
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		}
		if cond == batchv1.JobComplete {
			j.Status.CompletionTime = &started
		}
		return j
	}
	other := job("not-mine", 0, batchv1.JobComplete)
	other.OwnerReferences = nil
	h := newHarness(t, at("2024-05-01T10:10:00Z"), cj,
		job("ok-1", 1, batchv1.JobComplete), job("ok-2", 2, batchv1.JobComplete), job("ok-3", 3, batchv1.JobComplete),
		job("bad-4", 4, batchv1.JobFailed), job("bad-5", 5, batchv1.JobFailed), job("running-6", 6, ""), other)
	h.sync("hist")
	h.expectJobs("bad-5", "not-mine", "ok-3", "running-6")
	expectBackgroundDeletes(t, h.client, "ok-1", "ok-2", "bad-4")
	events := h.events()
	slices.Sort(events)
	want := []string{"Normal SuccessfulDelete Deleted job bad-4", "Normal SuccessfulDelete Deleted job ok-1", "Normal SuccessfulDelete Deleted job ok-2",
		"Warning UnexpectedJob Saw a job that the controller did not create or forgot: running-6"}
	if !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
	if lst := h.cronJob("hist").Status.LastSuccessfulTime; lst == nil || !lst.Time.Equal(at("2024-05-01T10:03:00Z")) {
		t.Errorf("lastSuccessfulTime %v, want the newest completion", lst)
	}
}

func TestActiveJobs(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:01:00.1Z"), newCronJob("act", "* * * * *", "2024-05-01T10:00:30Z"))
	h.sync("act")
	first := nameAt("act", "2024-05-01T10:01:00Z")
	h.expectActive("act", first)
	h.events()

	h.set("2024-05-01T10:01:40Z")
	h.finish(first, batchv1.JobComplete)
	h.sync("act")
	h.expectActive("act")
	h.expectEvents("Normal SawCompletedJob Saw completed job: " + first + ", condition: Complete")
	if lst := h.cronJob("act").Status.LastSuccessfulTime; lst == nil || !lst.Time.Equal(at("2024-05-01T10:01:40Z")) {
		t.Errorf("lastSuccessfulTime %v", lst)
	}

	// A Job that failed leaves the list too, without a success time.
	h.set("2024-05-01T10:02:00.1Z")
	h.sync("act")
	second := nameAt("act", "2024-05-01T10:02:00Z")
	h.expectActive("act", second)
	h.events()
	h.set("2024-05-01T10:02:30Z")
	h.finish(second, batchv1.JobFailed)
	h.sync("act")
	h.expectActive("act")
	h.expectEvents("Normal SawCompletedJob Saw completed job: " + second + ", condition: Failed")
	if lst := h.cronJob("act").Status.LastSuccessfulTime; !lst.Time.Equal(at("2024-05-01T10:01:40Z")) {
		t.Errorf("lastSuccessfulTime moved to %v after a failure", lst)
	}

	// A Job deleted behind the controller's back leaves the list.
	h.set("2024-05-01T10:03:00.1Z")
	h.sync("act")
	third := nameAt("act", "2024-05-01T10:03:00Z")
	h.events()
	if err := h.client.BatchV1().Jobs("ns").Delete(t.Context(), third, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("act")
	h.expectActive("act")
	h.expectEvents("Normal MissingJob Active job went missing: " + third)
}

func TestDeletingCronJob(t *testing.T) {
	h := newHarness(t, at("2024-05-01T10:01:00.1Z"), newCronJob("gone", "* * * * *", "2024-05-01T10:00:30Z", func(cj *batchv1.CronJob) {
		cj.DeletionTimestamp = ptr.To(metav1.NewTime(at("2024-05-01T10:00:50Z")))
		cj.Finalizers = []string{"foregroundDeletion"}
	}))
	if got := h.sync("gone"); got != 0 {
		t.Errorf("requeue %v", got)
	}
	h.expectJobs()
}

// TestRun drives the controller through its informers: a due CronJob gets its Job,
// and the Job's event reaches the API.
func TestRun(t *testing.T) {
	client := fake.NewClientset(newCronJob("wired", "* * * * *", "2024-05-01T10:00:30Z"))
	jobs, err := client.BatchV1().Jobs("ns").Watch(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer jobs.Stop()
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.clock, c.local = clocktesting.NewFakeClock(at("2024-05-01T10:01:00.1Z")), time.UTC
	factory.Start(t.Context().Done())
	factory.WaitForCacheSync(t.Context().Done())
	go c.Run(t.Context())
	select {
	case e := <-jobs.ResultChan():
		if j := e.Object.(*batchv1.Job); j.Name != nameAt("wired", "2024-05-01T10:01:00Z") {
			t.Fatalf("created %s", j.Name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no Job was created")
	}
}
