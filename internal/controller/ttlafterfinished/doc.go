// Package ttlafterfinished runs the TTL-after-finished controller: it deletes a
// finished Job (Complete or Failed) ttlSecondsAfterFinished after it finished, as
// upstream's does.
//
// A Job's finish time is the lastTransitionTime of its Complete or Failed condition.
// A Job not yet due is looked at again exactly when it expires; a due Job is read
// afresh from the API server and deleted only if it is still finished and expired
// (its TTL may have been changed), with background propagation and a UID
// precondition, so that a Job recreated under the same name is never deleted.
package ttlafterfinished
