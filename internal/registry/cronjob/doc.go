// Package cronjob provides the strategy for batch/v1 CronJobs: upstream's defaults
// (concurrency Allow, not suspended, history limits 3 and 1), the schedule checked with
// the standard five-field cron parser that upstream's controller uses, the time zone
// checked against the IANA database, the job template validated as a Job's spec
// without a selector, and the Table columns kubectl shows.
package cronjob
