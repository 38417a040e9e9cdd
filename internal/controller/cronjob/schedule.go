package cronjob

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

const (
	// tooManyMissed is how many missed starts are counted before the controller
	// warns (TooManyMissedTimes), as upstream.
	tooManyMissed = 100
	// nextScheduleDelta is added to every requeue, so that the sync comes just after
	// the start time and not a little before it on a skewed clock.
	nextScheduleDelta = 100 * time.Millisecond
)

// errNeverFires is returned for schedules that name no real time, such as February 31.
var errNeverFires = errors.New("time difference between two schedules is less than 1 second")

// schedule is a parsed spec.schedule with the zone its fields are read in.
type schedule struct {
	spec cron.Schedule
	loc  *time.Location
}

// next returns the first start strictly after t, or the zero time when there is none.
func (s schedule) next(t time.Time) time.Time { return s.spec.Next(t.In(s.loc)) }

// parseSchedule parses cj's schedule with cron's standard parser, in spec.timeZone or,
// when that is unset, in local. A TZ= or CRON_TZ= prefix in the schedule itself (which
// validation allows only on CronJobs that already had one) takes precedence.
func parseSchedule(cj *batchv1.CronJob, local *time.Location) (s schedule, err error) {
	s.loc = local
	if tz := cj.Spec.TimeZone; tz != nil {
		if s.loc, err = time.LoadLocation(*tz); err != nil {
			return s, err
		}
	}
	// The parser panics on a TZ= prefix with nothing after it.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid schedule: %v", r)
		}
	}()
	s.spec, err = cron.ParseStandard(cj.Spec.Schedule)
	return s, err
}

// since is the time after which cj's starts are still to be made: its last start, or
// its creation.
func since(cj *batchv1.CronJob) time.Time {
	if t := cj.Status.LastScheduleTime; t != nil {
		return t.Time
	}
	return cj.CreationTimestamp.Time
}

// latestStart returns the latest start of s in (after, now], or the zero time when
// there is none, and how many starts fall in that span, counted up to tooManyMissed+1.
// It returns errNeverFires for a schedule with no start at all.
func latestStart(s schedule, after, now time.Time) (time.Time, int, error) {
	t := s.next(after)
	if t.IsZero() {
		return time.Time{}, 0, errNeverFires
	}
	if t.After(now) {
		return time.Time{}, 0, nil
	}
	for n := 1; ; n++ {
		following := s.next(t)
		if following.IsZero() || following.After(now) {
			return t, n, nil
		}
		if n > tooManyMissed {
			break
		}
		t = following
	}
	// Too many to walk: bisect for the last instant whose next start is not after
	// now. next is monotonic, and starts fall on whole seconds, so once the bracket is
	// a second wide the next start from its low end is the latest one. (For @every
	// schedules, whose starts depend on where one counts from, this gives a start in
	// the last interval before now.)
	lo, hi := t, now
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if s.next(mid).After(now) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return s.next(lo), tooManyMissed + 1, nil
}

// due is what cj's schedule asks for at a moment.
type due struct {
	// start is the scheduled time of the Job to start now; zero when there is none.
	start time.Time
	// missed is a start that was skipped because it is older than the starting
	// deadline; zero when there is none.
	missed time.Time
	// tooMany reports more than tooManyMissed starts missed (within the starting
	// deadline, when there is one).
	tooMany bool
}

// dueAt returns what cj's schedule s asks for at now: only the most recent of the
// starts missed since the last one counts.
func dueAt(cj *batchv1.CronJob, s schedule, now time.Time) (due, error) {
	from := since(cj)
	latest, n, err := latestStart(s, from, now)
	if err != nil || latest.IsZero() {
		return due{}, err
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		window := now.Add(-time.Duration(*d) * time.Second)
		if !latest.After(window) {
			return due{missed: latest}, nil
		}
		if window.After(from) {
			if _, n, err = latestStart(s, window, now); err != nil {
				return due{}, err
			}
		}
	}
	return due{start: latest, tooMany: n > tooManyMissed}, nil
}

// requeueAfter returns how long after now cj is next due, plus nextScheduleDelta; 0
// when its schedule never fires again.
func requeueAfter(cj *batchv1.CronJob, s schedule, now time.Time) time.Duration {
	from := now
	if t := since(cj); t.After(now) {
		from = t
	}
	next := s.next(from)
	if next.IsZero() {
		return 0
	}
	return next.Add(nextScheduleDelta).Sub(now)
}
