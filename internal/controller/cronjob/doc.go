// Package cronjob runs the CronJob controller: it starts a Job from each CronJob's
// template at the times its schedule names, as upstream's (v2) controller does.
//
//   - Schedules are the standard five cron fields or a descriptor (@hourly, @daily,
//     @every 1h, ...), reckoned in spec.timeZone, or in the controller's local zone
//     when it is unset. An unknown zone starts nothing (event UnknownTimeZone).
//   - Only the most recent start time missed since status.lastScheduleTime (or the
//     CronJob's creation) is started; more than 100 missed starts are reported
//     (TooManyMissedTimes) and the most recent is still started. A start older than
//     spec.startingDeadlineSeconds is skipped (MissSchedule).
//   - A Job is named <cronjob>-<scheduled time in minutes since the epoch>, so a
//     retry after a crash finds the Job it made (AlreadyExists) instead of making a
//     second one. It carries the template's labels and annotations, the annotation
//     batch.kubernetes.io/cronjob-scheduled-timestamp (RFC 3339, in the CronJob's
//     zone; UTC when it has none) and a controller reference to the CronJob.
//   - concurrencyPolicy: Allow starts regardless, Forbid skips a start while a Job
//     runs (JobAlreadyActive), Replace deletes the running Jobs first.
//   - status.active lists the running Jobs, kept current as they finish
//     (SawCompletedJob) or vanish (MissingJob); status.lastScheduleTime and
//     status.lastSuccessfulTime follow the Jobs.
//   - Finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit are
//     deleted, oldest first, with background propagation.
//   - A suspended CronJob starts nothing; one being deleted only has its status kept.
//
// The controller looks at a CronJob again just after its next start time (by the
// injected clock, plus 100 ms), and whenever the CronJob or one of its Jobs changes.
// Events are upstream's, from component "cronjob-controller".
package cronjob
