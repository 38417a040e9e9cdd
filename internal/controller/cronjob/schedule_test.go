package cronjob

import (
	"errors"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func mustParse(t *testing.T, spec string, tz *string) schedule {
	t.Helper()
	s, err := parseSchedule(&batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: spec, TimeZone: tz}}, time.UTC)
	if err != nil {
		t.Fatalf("parse %q: %v", spec, err)
	}
	return s
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestLatestStart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spec       string
		tz         *string
		after, now string
		want       string // "" for none
		count      int
	}{
		{"none yet", "* * * * *", nil, "2024-05-01T10:00:30Z", "2024-05-01T10:00:59Z", "", 0},
		{"exactly at the start", "* * * * *", nil, "2024-05-01T10:00:30Z", "2024-05-01T10:01:00Z", "2024-05-01T10:01:00Z", 1},
		{"three missed", "* * * * *", nil, "2024-05-01T10:00:30Z", "2024-05-01T10:03:10Z", "2024-05-01T10:03:00Z", 3},
		{"question mark day of week", "*/1 * * * ?", nil, "2024-05-01T10:00:00Z", "2024-05-01T10:01:00Z", "2024-05-01T10:01:00Z", 1},
		{"descriptor", "@hourly", nil, "2024-05-01T10:00:00Z", "2024-05-01T12:30:00Z", "2024-05-01T12:00:00Z", 2},
		{"weekdays skip the weekend", "30 16 * * 1-5", nil, "2024-05-03T17:00:00Z", "2024-05-05T23:00:00Z", "", 0},
		{"time zone", "0 9 * * *", ptr.To("Asia/Tokyo"), "2024-05-01T00:00:30Z", "2024-05-02T00:00:00Z", "2024-05-02T00:00:00Z", 1},
		{"many missed: exact latest", "*/3 * * * *", nil, "2024-01-01T00:00:00Z", "2024-05-01T10:03:10Z", "2024-05-01T10:03:00Z", tooManyMissed + 1},
		{"many missed, sparse schedule", "30 16 * * 1-5", nil, "2023-01-01T00:00:00Z", "2024-05-05T23:00:00Z", "2024-05-03T16:30:00Z", tooManyMissed + 1},
		{"exactly 101", "* * * * *", nil, "2024-05-01T10:00:00Z", "2024-05-01T11:41:00Z", "2024-05-01T11:41:00Z", 101},
		{"exactly 100", "* * * * *", nil, "2024-05-01T10:00:00Z", "2024-05-01T11:40:00Z", "2024-05-01T11:40:00Z", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := latestStart(mustParse(t, tc.spec, tc.tz), at(tc.after), at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !got.IsZero() || n != 0 {
					t.Fatalf("got %v (%d), want none", got, n)
				}
				return
			}
			if !got.Equal(at(tc.want)) || n != tc.count {
				t.Fatalf("got %v (%d), want %s (%d)", got.UTC(), n, tc.want, tc.count)
			}
		})
	}
	if _, _, err := latestStart(mustParse(t, "0 0 31 2 *", nil), at("2024-01-01T00:00:00Z"), at("2024-05-01T00:00:00Z")); !errors.Is(err, errNeverFires) {
		t.Errorf("February 31: %v, want errNeverFires", err)
	}
}

func TestDueAt(t *testing.T) {
	s := mustParse(t, "* * * * *", nil)
	cj := func(last string, deadline *int64) *batchv1.CronJob {
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at("2024-01-01T00:00:00Z"))},
			Spec: batchv1.CronJobSpec{StartingDeadlineSeconds: deadline}}
		if last != "" {
			cj.Status.LastScheduleTime = &metav1.Time{Time: at(last)}
		}
		return cj
	}
	for _, tc := range []struct {
		name string
		cj   *batchv1.CronJob
		now  string
		want due
	}{
		{"from the last start", cj("2024-05-01T10:00:00Z", nil), "2024-05-01T10:01:00.1Z", due{start: at("2024-05-01T10:01:00Z")}},
		{"nothing new", cj("2024-05-01T10:01:00Z", nil), "2024-05-01T10:01:30Z", due{}},
		{"from creation, too many", cj("", nil), "2024-05-01T10:01:30Z", due{start: at("2024-05-01T10:01:00Z"), tooMany: true}},
		{"within the deadline", cj("2024-05-01T10:00:00Z", ptr.To[int64](10)), "2024-05-01T10:01:09Z", due{start: at("2024-05-01T10:01:00Z")}},
		{"past the deadline", cj("2024-05-01T10:00:00Z", ptr.To[int64](10)), "2024-05-01T10:01:11Z", due{missed: at("2024-05-01T10:01:00Z")}},
		{"the deadline bounds the count", cj("", ptr.To[int64](200)), "2024-05-01T10:01:30Z", due{start: at("2024-05-01T10:01:00Z")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dueAt(tc.cj, s, at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if !got.start.Equal(tc.want.start) || !got.missed.Equal(tc.want.missed) || got.tooMany != tc.want.tooMany {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRequeueAfter(t *testing.T) {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at("2024-05-01T10:00:30Z"))}}
	if got, want := requeueAfter(cj, mustParse(t, "* * * * *", nil), at("2024-05-01T10:00:30Z")), 30*time.Second+nextScheduleDelta; got != want {
		t.Errorf("every minute: %v, want %v", got, want)
	}
	// A start missed (Forbid, a deadline) does not make the requeue due at once.
	cj.Status.LastScheduleTime = &metav1.Time{Time: at("2024-05-01T09:00:00Z")}
	if got, want := requeueAfter(cj, mustParse(t, "@hourly", nil), at("2024-05-01T10:59:00Z")), time.Minute+nextScheduleDelta; got != want {
		t.Errorf("hourly with a missed start: %v, want %v", got, want)
	}
	if got := requeueAfter(cj, mustParse(t, "0 0 31 2 *", nil), at("2024-05-01T10:59:00Z")); got != 0 {
		t.Errorf("a schedule that never fires: %v, want 0", got)
	}
}

func TestSurplus(t *testing.T) {
	start := func(min int) *metav1.Time {
		return &metav1.Time{Time: at("2024-05-01T10:00:00Z").Add(time.Duration(min) * time.Minute)}
	}
	job := func(name string, cond batchv1.JobConditionType, started *metav1.Time) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: batchv1.JobStatus{StartTime: started}}
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: "True"}}
		}
		return j
	}
	jobs := []*batchv1.Job{
		job("ok-3", batchv1.JobComplete, start(3)),
		job("ok-never", batchv1.JobComplete, nil),
		job("ok-1", batchv1.JobComplete, start(1)),
		job("ok-2b", batchv1.JobComplete, start(2)),
		job("ok-2a", batchv1.JobComplete, start(2)),
		job("bad-1", batchv1.JobFailed, start(1)),
		job("bad-2", batchv1.JobFailed, start(2)),
		job("running", "", start(0)),
	}
	cj := &batchv1.CronJob{Spec: batchv1.CronJobSpec{SuccessfulJobsHistoryLimit: ptr.To[int32](2), FailedJobsHistoryLimit: ptr.To[int32](1)}}
	var got []string
	for _, j := range surplus(cj, jobs) {
		got = append(got, j.Name)
	}
	want := []string{"ok-1", "ok-2a", "ok-2b", "bad-1"}
	if len(got) != len(want) {
		t.Fatalf("surplus %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("surplus %v, want %v", got, want)
		}
	}
	cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit = nil, nil
	if s := surplus(cj, jobs); len(s) != 0 {
		t.Errorf("without limits: %d surplus", len(s))
	}
}
