// Package job runs the batch/v1 Job controller: it creates a Job's pods, counts them
// as they finish, and marks the Job Complete or Failed, as upstream's does.
//
//   - Pods: parallelism pods at a time, no more than the completions still missing
//     (a Job without completions is a work queue: done once a pod succeeded and none
//     is active). Pods are named from generateName "<job>-" and carry a controller
//     reference, the template's labels (the registry adds the job-name and
//     controller-uid labels) and the finalizer batch.kubernetes.io/job-tracking.
//     Indexed Jobs give each pod a completion index (annotation and label
//     batch.kubernetes.io/job-completion-index, hostname "<job>-<index>",
//     generateName "<job>-<index>-", environment variable JOB_COMPLETION_INDEX) and
//     report status.completedIndexes and status.failedIndexes as "1,3-5".
//   - Counting: a finished pod's UID is first written to
//     status.uncountedTerminatedPods, then its finalizer is removed, then it moves
//     into status.succeeded or status.failed. Whatever step a crash interrupts, the
//     next sync finishes it, so a pod is counted exactly once.
//   - Failures: pods are recreated after upstream's back-off (10 s doubling, at most
//     10 minutes, from the time the last failures finished); backoffLimit,
//     backoffLimitPerIndex with maxFailedIndexes, podFailurePolicy (FailJob,
//     FailIndex, Ignore, Count on exit codes or pod conditions) and
//     activeDeadlineSeconds end the Job. A terminal outcome is first recorded as
//     FailureTarget or SuccessCriteriaMet; the remaining pods are deleted and Failed
//     or Complete follows once none is left terminating.
//   - suspend deletes the active pods and sets the Suspended condition; resuming
//     resets status.startTime. podReplacementPolicy Failed waits for terminating
//     pods to end before replacing them. Jobs whose spec.managedBy names another
//     controller are left alone.
//   - Pods whose labels match a Job's selector are adopted (with the tracking
//     finalizer); owned pods that stop matching are released. Pods of deleted or
//     finished Jobs, and orphans, lose the tracking finalizer.
//   - Expectations: after creating or deleting pods a Job is not managed again until
//     the watch has shown those changes, and a pod whose finalizer removal is not yet
//     seen is not counted again.
//
// Events are upstream's, from component "job-controller": SuccessfulCreate,
// FailedCreate, SuccessfulDelete, FailedDelete, Suspended, Resumed, Completed,
// TooManySucceededPods, and the failure reasons (BackoffLimitExceeded,
// DeadlineExceeded, PodFailurePolicy, MaxFailedIndexesExceeded, FailedIndexes).
package job
