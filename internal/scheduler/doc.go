// Package scheduler provides the scheduler that `podium server` runs: it watches pods
// with no node whose schedulerName is default-scheduler and binds each to a node that
// is Ready and schedulable, through the pods/binding subresource, with upstream's
// Scheduled and FailedScheduling events.
//
// This first version picks the feasible node with the fewest pods; the filter and
// score plugins of the scheduler issue replace that choice.
package scheduler
