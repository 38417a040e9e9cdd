// Package queue provides the scheduling queue: pending pods wait in an active queue
// ordered by priority (higher first) then by the time they were queued; a pod that did
// not fit waits in the unschedulable set until a cluster event that may help it (a
// node added or changed, a pod leaving a node) moves it back, after its back-off (1 s
// doubling per attempt up to 10 s, upstream's defaults). Pods whose attempt failed with
// an error, or that an event may have helped while they were being scheduled, wait in
// the back-off queue instead. Every 30 s, pods that have been unschedulable for 5
// minutes are retried regardless. When no pod is active, Pop takes a pod backing off
// after being found unschedulable early, as upstream does, rather than idle.
//
// States of a pod in the queue:
//
//	       Add            Pop               Requeue(unschedulable, no event helps)
//	──────────► active ───────► in flight ──────────────────────► unschedulable
//	              ▲                │  Requeue(error, or an event       │
//	              │                │  during the attempt helps)       │ MoveAll (a hint
//	              │ back-off over  ▼                                  │ says yes) or 5 min
//	              └─────────── backoff ◄──────────────────────────────┘ (still backing off)
//
// Activate moves an unschedulable pod back as an event would (the scheduler uses it for
// a preemptor whose preemption finished while it waited). A pod leaves the queue when
// it is deleted or bound (Delete) or scheduled (Done without Requeue).
package queue
