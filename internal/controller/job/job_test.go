package job

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		in          string
		completions int
		want        string
		total       int
	}{
		{"", 5, "", 0},
		{"0", 5, "0", 1},
		{"0,1", 5, "0,1", 2},
		{"1,3-5", 10, "1,3-5", 4},
		{"1,3-5", 5, "1,3,4", 3},
		{"0,1,2,7", 10, "0-2,7", 4},
		{"2-4,x,6", 10, "2-4,6", 4},
	} {
		got := parseIntervals(tc.in, tc.completions)
		if got.String() != tc.want || got.total() != tc.total {
			t.Errorf("parse(%q, %d) = %q (%d), want %q (%d)", tc.in, tc.completions, got, got.total(), tc.want, tc.total)
		}
	}
	iv := parseIntervals("1,5-7", 10).with(0, 2, 4, 9)
	if iv.String() != "0-2,4-7,9" || !iv.has(6) || iv.has(3) || iv.has(8) {
		t.Errorf("with: %q", iv)
	}
}

func TestBackoffDelays(t *testing.T) {
	// 10 s doubling, at most 10 minutes, counted from the last failure.
	for failures, want := range map[int32]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second,
		3: 40 * time.Second, 6: 320 * time.Second, 7: 10 * time.Minute, 20: 10 * time.Minute} {
		if got := backoffLeft(failures, t0, t0); got != want {
			t.Errorf("%d failures: %v, want %v", failures, got, want)
		}
	}
	if got := backoffLeft(2, t0, t0.Add(15*time.Second)); got != 5*time.Second {
		t.Errorf("15 s after the second failure: %v, want 5s", got)
	}
	if got := backoffLeft(2, t0, t0.Add(time.Minute)); got != 0 {
		t.Errorf("a minute after the second failure: %v, want 0", got)
	}
}

func TestSuccessPolicyMatch(t *testing.T) {
	done := parseIntervals("0,2-4", 10)
	for _, tc := range []struct {
		name  string
		rules []batchv1.SuccessPolicyRule
		want  string
	}{
		{"indexes all succeeded", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("2-3")}}, "Matched rules at index 0"},
		{"indexes missing one", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}}, ""},
		{"count within indexes", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}, {SucceededIndexes: ptr.To("0-5"), SucceededCount: ptr.To[int32](3)}}, "Matched rules at index 1"},
		{"count alone", []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](5)}, {SucceededCount: ptr.To[int32](4)}}, "Matched rules at index 1"},
	} {
		got, _ := matchSuccessPolicy(&batchv1.SuccessPolicy{Rules: tc.rules}, 10, done)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestCompletionsWithParallelism runs a Job of 3 completions, 2 at a time, to the end.
func TestCompletionsWithParallelism(t *testing.T) {
	h := newHarness(t, newJob("pi", 3, 2))
	h.sync("pi")
	pods := h.podList()
	if len(pods) != 2 {
		t.Fatalf("%d pods, want 2", len(pods))
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(&p)
		if p.GenerateName != "pi-" || ref == nil || ref.UID != "job-pi" || ref.Kind != "Job" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
			t.Errorf("pod %s: generateName %q, controller %v", p.Name, p.GenerateName, ref)
		}
		if !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) || p.Labels[batchv1.JobNameLabel] != "pi" {
			t.Errorf("pod %s: finalizers %v, labels %v", p.Name, p.Finalizers, p.Labels)
		}
	}
	h.wantEvent("SuccessfulCreate Created pod: pi-001")
	j := h.job("pi")
	if j.Status.Active != 2 || j.Status.StartTime == nil || !j.Status.StartTime.Time.Equal(t0) || ptr.Deref(j.Status.Ready, -1) != 0 {
		t.Fatalf("status %+v", j.Status)
	}

	h.finish(pods[0].Name, 0)
	h.finish(pods[1].Name, 0)
	h.sync("pi")
	j = h.job("pi")
	if j.Status.Succeeded != 2 || j.Status.Active != 1 || len(j.Status.UncountedTerminatedPods.Succeeded) != 0 {
		t.Fatalf("after two successes: %+v", j.Status)
	}
	for _, p := range h.podList()[:2] {
		if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
			t.Errorf("counted pod %s keeps its finalizer", p.Name)
		}
	}
	if active := h.activePodNames(); len(active) != 1 {
		t.Fatalf("active pods %v, want one more (only one completion left)", active)
	}

	h.clock.Step(time.Minute)
	h.finish(h.activePodNames()[0], 0)
	h.sync("pi")
	j = h.job("pi")
	if got := conditions(j); got != "SuccessCriteriaMet=True/CompletionsReached Complete=True/CompletionsReached" {
		t.Fatalf("conditions %s", got)
	}
	if j.Status.Succeeded != 3 || j.Status.Active != 0 || j.Status.CompletionTime == nil || !j.Status.CompletionTime.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("final status %+v", j.Status)
	}
	h.wantEvent("Completed Job completed")
	if n := len(h.podList()); n != 3 {
		t.Errorf("%d pods at the end, want 3", n)
	}
}

// TestWorkQueue: without completions, the Job is done once one pod succeeded and the
// others ended.
func TestWorkQueue(t *testing.T) {
	h := newHarness(t, newJob("wq", 0, 2, func(j *batchv1.Job) { j.Spec.Completions = nil }))
	h.sync("wq")
	pods := h.podList()
	h.finish(pods[0].Name, 0)
	h.sync("wq")
	if j := h.job("wq"); finished(j) || j.Status.Active != 1 || len(h.podList()) != 2 {
		t.Fatalf("with one success and one running: %s, %+v", conditions(j), j.Status)
	}
	h.finish(pods[1].Name, 0)
	h.sync("wq")
	if j := h.job("wq"); trueCondition(j, batchv1.JobComplete) == nil || j.Status.Succeeded != 2 {
		t.Fatalf("not complete: %s, %+v", conditions(j), j.Status)
	}
}

func TestIndexedCompletion(t *testing.T) {
	h := newHarness(t, newJob("idx", 3, 3, indexed))
	h.sync("idx")
	pods := h.podList()
	if len(pods) != 3 {
		t.Fatalf("%d pods", len(pods))
	}
	byIndex := map[string]corev1.Pod{}
	for _, p := range pods {
		ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		byIndex[ix] = p
		if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || p.Spec.Hostname != "idx-"+ix || p.GenerateName != "idx-"+ix+"-" {
			t.Errorf("pod %s: index %q, label %q, hostname %q, generateName %q", p.Name, ix,
				p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname, p.GenerateName)
		}
		env := p.Spec.Containers[0].Env
		if len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("pod %s: env %v", p.Name, env)
		}
	}
	if len(byIndex) != 3 {
		t.Fatalf("indexes %v", byIndex)
	}
	h.finish(byIndex["0"].Name, 0)
	h.finish(byIndex["2"].Name, 0)
	h.sync("idx")
	if j := h.job("idx"); j.Status.CompletedIndexes != "0,2" || j.Status.Succeeded != 2 || j.Status.Active != 1 {
		t.Fatalf("status %+v", j.Status)
	}
	// Index 1 fails: it is recreated (after the back-off) under the same index.
	h.finish(byIndex["1"].Name, 1)
	h.sync("idx")
	h.clock.Step(10 * time.Second)
	h.sync("idx")
	active := h.activePodNames()
	if len(active) != 1 {
		t.Fatalf("active %v", active)
	}
	p, _ := h.client.CoreV1().Pods("ns").Get(t.Context(), active[0], metav1.GetOptions{})
	if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "1" {
		t.Fatalf("replacement has index %q", p.Annotations[batchv1.JobCompletionIndexAnnotation])
	}
	h.finish(p.Name, 0)
	h.sync("idx")
	j := h.job("idx")
	if j.Status.CompletedIndexes != "0-2" || j.Status.Succeeded != 3 || j.Status.Failed != 1 || trueCondition(j, batchv1.JobComplete) == nil {
		t.Fatalf("final: %s %+v", conditions(j), j.Status)
	}
}

// TestBackoffLimit: failures beyond backoffLimit fail the Job, its running pods are
// deleted, and the failed pods are replaced only after the back-off.
func TestBackoffLimit(t *testing.T) {
	h := newHarness(t, newJob("bl", 4, 2, func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](1) }))
	h.sync("bl")
	pods := h.podList()
	h.finish(pods[0].Name, 1)
	again := h.sync("bl")
	j := h.job("bl")
	if j.Status.Failed != 1 || finished(j) || len(h.activePodNames()) != 1 {
		t.Fatalf("after one failure: %s %+v", conditions(j), j.Status)
	}
	if again != 10*time.Second {
		t.Fatalf("requeued after %v, want the 10 s back-off", again)
	}
	h.clock.Step(5 * time.Second)
	if again := h.sync("bl"); again != 5*time.Second || len(h.activePodNames()) != 1 {
		t.Fatalf("5 s in: requeue %v, active %v", again, h.activePodNames())
	}
	h.clock.Step(5 * time.Second)
	h.sync("bl")
	active := h.activePodNames()
	if len(active) != 2 {
		t.Fatalf("after the back-off: active %v", active)
	}
	h.drainEvents()

	h.finish(active[0], 1)
	h.sync("bl")
	j = h.job("bl")
	if got := conditions(j); got != "FailureTarget=True/BackoffLimitExceeded" {
		t.Fatalf("conditions %s", got)
	}
	if len(h.activePodNames()) != 0 {
		t.Fatalf("running pods left: %v", h.activePodNames())
	}
	h.wantEvent("SuccessfulDelete Deleted pod: " + active[1])
	h.sync("bl")
	j = h.job("bl")
	if got := conditions(j); got != "FailureTarget=True/BackoffLimitExceeded Failed=True/BackoffLimitExceeded" {
		t.Fatalf("conditions %s", got)
	}
	failed := trueCondition(j, batchv1.JobFailed)
	if failed.Message != "Job has reached the specified backoff limit" || j.Status.Active != 0 || j.Status.Failed != 3 || j.Status.CompletionTime != nil {
		t.Fatalf("status %+v", j.Status)
	}
	h.wantEvent("BackoffLimitExceeded Job has reached the specified backoff limit")
}

func TestPodFailurePolicyFailJob(t *testing.T) {
	h := newHarness(t, newJob("pfp", 2, 2, func(j *batchv1.Job) {
		j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
				{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
			{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To("c"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		}}
	}))
	h.sync("pfp")
	pods := h.podList()
	h.finish(pods[0].Name, 42)
	h.sync("pfp")
	j := h.job("pfp")
	want := "Container c for pod ns/" + pods[0].Name + " failed with exit code 42 matching FailJob rule at index 1"
	ft := trueCondition(j, batchv1.JobFailureTarget)
	if ft == nil || ft.Reason != "PodFailurePolicy" || ft.Message != want {
		t.Fatalf("conditions %s (%v)", conditions(j), ft)
	}
	h.sync("pfp")
	j = h.job("pfp")
	if f := trueCondition(j, batchv1.JobFailed); f == nil || f.Reason != "PodFailurePolicy" || f.Message != want {
		t.Fatalf("conditions %s", conditions(j))
	}
	h.wantEvent("PodFailurePolicy " + want)
}

// TestPodFailurePolicyIgnore: a failure matching Ignore does not count against the
// backoff limit and the pod is replaced.
func TestPodFailurePolicyIgnore(t *testing.T) {
	h := newHarness(t, newJob("ign", 1, 1, func(j *batchv1.Job) {
		j.Spec.BackoffLimit = ptr.To[int32](0)
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
				{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}}
	}))
	h.sync("ign")
	p := h.podList()[0]
	p.Status.Phase = corev1.PodFailed
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}
	if _, err := h.client.CoreV1().Pods("ns").UpdateStatus(t.Context(), &p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("ign")
	h.clock.Step(10 * time.Second) // the back-off still applies
	h.sync("ign")
	j := h.job("ign")
	if finished(j) || j.Status.Failed != 0 || len(h.activePodNames()) != 1 {
		t.Fatalf("after an ignored failure: %s %+v, active %v", conditions(j), j.Status, h.activePodNames())
	}
}

func TestActiveDeadline(t *testing.T) {
	h := newHarness(t, newJob("ads", 1, 1, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) }))
	if again := h.sync("ads"); again != 30*time.Second {
		t.Fatalf("requeue %v, want the deadline", again)
	}
	h.clock.Step(20 * time.Second)
	if again := h.sync("ads"); again != 10*time.Second {
		t.Fatalf("requeue %v, want the rest of the deadline", again)
	}
	h.clock.Step(10 * time.Second)
	h.sync("ads")
	if got := conditions(h.job("ads")); got != "FailureTarget=True/DeadlineExceeded" || len(h.podList()) != 0 {
		t.Fatalf("conditions %s, pods %d", got, len(h.podList()))
	}
	h.sync("ads")
	j := h.job("ads")
	if f := trueCondition(j, batchv1.JobFailed); f == nil || f.Reason != "DeadlineExceeded" || f.Message != "Job was active longer than specified deadline" {
		t.Fatalf("conditions %s", conditions(j))
	}
	h.wantEvent("DeadlineExceeded Job was active longer than specified deadline")
}

func TestSuspendResume(t *testing.T) {
	h := newHarness(t, newJob("sus", 2, 2, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }))
	h.sync("sus")
	j := h.job("sus")
	if len(h.podList()) != 0 || j.Status.StartTime != nil || conditions(j) != "Suspended=True/JobSuspended" {
		t.Fatalf("created suspended: pods %d, %s, %+v", len(h.podList()), conditions(j), j.Status)
	}
	h.wantEvent("Suspended Job suspended")

	h.clock.Step(time.Minute)
	h.updateJob("sus", func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) })
	h.sync("sus")
	j = h.job("sus")
	if len(h.activePodNames()) != 2 || conditions(j) != "Suspended=False/JobResumed" || !j.Status.StartTime.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("resumed: pods %v, %s, %+v", h.activePodNames(), conditions(j), j.Status)
	}
	h.wantEvent("Resumed Job resumed")

	h.updateJob("sus", func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) })
	h.sync("sus")
	j = h.job("sus")
	if len(h.podList()) != 0 || conditions(j) != "Suspended=True/JobSuspended" || j.Status.Failed != 0 || j.Status.Active != 0 {
		t.Fatalf("suspended again: pods %d, %s, %+v", len(h.podList()), conditions(j), j.Status)
	}

	h.clock.Step(time.Hour)
	h.updateJob("sus", func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(false) })
	h.sync("sus")
	if j = h.job("sus"); !j.Status.StartTime.Time.Equal(t0.Add(61 * time.Minute)) {
		t.Fatalf("startTime %v not reset on resume", j.Status.StartTime)
	}
}

// TestFinalizerTracking: a finished pod is counted once, though the cache still shows
// its finalizer, and the steps a crash interrupted are completed without recounting.
func TestFinalizerTracking(t *testing.T) {
	h := newHarness(t, newJob("trk", 3, 1))
	h.sync("trk")
	first := h.podList()[0].Name
	h.finish(first, 0)
	h.refresh()
	if _, err := h.c.sync(t.Context(), "ns/trk"); err != nil {
		t.Fatal(err)
	}
	// The watch has not shown the finalizer removal yet; the Job's status it has.
	h.refreshJobs()
	if _, err := h.c.sync(t.Context(), "ns/trk"); err != nil {
		t.Fatal(err)
	}
	if j := h.job("trk"); j.Status.Succeeded != 1 {
		t.Fatalf("succeeded %d after two syncs over one pod", j.Status.Succeeded)
	}
	h.refresh()
	h.sync("trk")
	if j := h.job("trk"); j.Status.Succeeded != 1 {
		t.Fatalf("succeeded %d once the watch caught up", j.Status.Succeeded)
	}

	// A crash after step 1: one pod's UID is uncounted, its finalizer still on; another's
	// finalizer is gone but its UID was never moved to the counters.
	second := h.activePodNames()[0]
	h.finish(second, 0)
	p, _ := h.client.CoreV1().Pods("ns").Get(t.Context(), second, metav1.GetOptions{})
	extra := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "trk-extra", Namespace: "ns", UID: "uid-extra",
		Labels: p.Labels, OwnerReferences: p.OwnerReferences}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	if _, err := h.client.CoreV1().Pods("ns").Create(t.Context(), extra, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := h.job("trk")
	j.Status.UncountedTerminatedPods.Succeeded = []types.UID{p.UID, "uid-extra"}
	if _, err := h.client.BatchV1().Jobs("ns").UpdateStatus(t.Context(), j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("trk")
	h.sync("trk")
	j = h.job("trk")
	if j.Status.Succeeded != 3 || len(j.Status.UncountedTerminatedPods.Succeeded) != 0 || trueCondition(j, batchv1.JobComplete) == nil {
		t.Fatalf("after recovery: %s %+v", conditions(j), j.Status)
	}
	for _, p := range h.podList() {
		if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
			t.Errorf("pod %s keeps its finalizer", p.Name)
		}
	}
}

func TestSuccessPolicy(t *testing.T) {
	h := newHarness(t, newJob("sp", 4, 4, indexed, func(j *batchv1.Job) {
		j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0")}}}
	}))
	h.sync("sp")
	for _, p := range h.podList() {
		if p.Annotations[batchv1.JobCompletionIndexAnnotation] == "0" {
			h.finish(p.Name, 0)
		}
	}
	h.sync("sp")
	j := h.job("sp")
	if got := conditions(j); got != "SuccessCriteriaMet=True/SuccessPolicy" || len(h.activePodNames()) != 0 {
		t.Fatalf("conditions %s, active %v", got, h.activePodNames())
	}
	h.sync("sp")
	j = h.job("sp")
	c := trueCondition(j, batchv1.JobComplete)
	if c == nil || c.Reason != "SuccessPolicy" || c.Message != "Matched rules at index 0" || j.Status.CompletedIndexes != "0" || j.Status.Failed != 0 {
		t.Fatalf("conditions %s, status %+v", conditions(j), j.Status)
	}
}

// TestBackoffLimitPerIndex: an index that fails more than backoffLimitPerIndex times
// is failed; the others run on, and the Job fails with FailedIndexes at the end.
func TestBackoffLimitPerIndex(t *testing.T) {
	h := newHarness(t, newJob("bpi", 2, 2, indexed, func(j *batchv1.Job) {
		j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
		j.Spec.BackoffLimit = ptr.To[int32](1 << 30)
	}))
	h.sync("bpi")
	podOf := func(ix string) string {
		for _, p := range h.podList() {
			if p.Annotations[batchv1.JobCompletionIndexAnnotation] == ix && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return p.Name
			}
		}
		t.Fatalf("no active pod of index %s", ix)
		return ""
	}
	h.finish(podOf("0"), 1)
	h.sync("bpi")
	h.clock.Step(10 * time.Second)
	h.sync("bpi")
	second := podOf("0")
	p, _ := h.client.CoreV1().Pods("ns").Get(t.Context(), second, metav1.GetOptions{})
	if p.Annotations[batchv1.JobIndexFailureCountAnnotation] != "1" {
		t.Fatalf("replacement's failure count %q", p.Annotations[batchv1.JobIndexFailureCountAnnotation])
	}
	h.finish(second, 1)
	h.sync("bpi")
	if j := h.job("bpi"); ptr.Deref(j.Status.FailedIndexes, "") != "0" || finished(j) {
		t.Fatalf("failedIndexes %v, %s", j.Status.FailedIndexes, conditions(j))
	}
	h.finish(podOf("1"), 0)
	h.sync("bpi")
	h.sync("bpi")
	j := h.job("bpi")
	if f := trueCondition(j, batchv1.JobFailed); f == nil || f.Reason != "FailedIndexes" || j.Status.CompletedIndexes != "1" {
		t.Fatalf("conditions %s, %+v", conditions(j), j.Status)
	}
}

func TestAdoptAndRelease(t *testing.T) {
	job := newJob("ad", 1, 1)
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "ns", UID: "orphan-uid",
		Labels: map[string]string{batchv1.ControllerUidLabel: "job-ad"}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: "ns", UID: "stray-uid",
		Labels: map[string]string{"app": "other"}, Finalizers: []string{batchv1.JobTrackingFinalizer},
		OwnerReferences: []metav1.OwnerReference{controllerRef(job)}}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	h := newHarness(t, job, orphan, stray)
	h.sync("ad")
	got, _ := h.client.CoreV1().Pods("ns").Get(t.Context(), "orphan", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(got); ref == nil || ref.UID != job.UID || !slices.Contains(got.Finalizers, batchv1.JobTrackingFinalizer) {
		t.Fatalf("orphan not adopted: %v, finalizers %v", got.OwnerReferences, got.Finalizers)
	}
	if n := len(h.podList()); n != 2 || h.job("ad").Status.Active != 1 {
		t.Fatalf("%d pods, status %+v: the adopted pod should be the one to run", n, h.job("ad").Status)
	}
	got, _ = h.client.CoreV1().Pods("ns").Get(t.Context(), "stray", metav1.GetOptions{})
	if len(got.OwnerReferences) != 0 {
		t.Fatalf("stray pod not released: %v", got.OwnerReferences)
	}
	// Released with the finalizer on: the orphan worker takes it off.
	if err := h.c.orphan(t.Context(), "ns/stray"); err != nil {
		t.Fatal(err)
	}
	if got, _ = h.client.CoreV1().Pods("ns").Get(t.Context(), "stray", metav1.GetOptions{}); len(got.Finalizers) != 0 {
		t.Fatalf("released pod keeps finalizers %v", got.Finalizers)
	}
}

func TestManagedElsewhere(t *testing.T) {
	h := newHarness(t, newJob("ext", 1, 1, func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("example.com/other") }))
	h.sync("ext")
	if len(h.podList()) != 0 || h.job("ext").Status.StartTime != nil {
		t.Fatal("a Job managed by another controller was acted on")
	}
}

func TestSlowStart(t *testing.T) {
	var mu sync.Mutex
	var calls []int
	record := func(i int) { mu.Lock(); calls = append(calls, i); mu.Unlock() }
	done, err := slowStart(10, func(i int) error { record(i); return nil })
	if done != 10 || err != nil || len(calls) != 10 {
		t.Fatalf("all succeed: done %d, err %v, calls %v", done, err, calls)
	}
	calls = nil
	// Batches of 1, 2, 4: the third has a failure, so 7 run and 6 succeed.
	done, err = slowStart(100, func(i int) error {
		record(i)
		if i == 5 {
			return errors.New("quota")
		}
		return nil
	})
	if done != 6 || err == nil || len(calls) != 7 {
		t.Fatalf("the sixth fails: done %d, err %v, calls %v", done, err, calls)
	}
	done, err = slowStart(3, func(i int) error { return errNamespaceTerminating })
	if done != 0 || err != nil {
		t.Fatalf("namespace terminating: done %d, err %v", done, err)
	}
}
