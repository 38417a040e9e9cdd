// Package preemption provides the scheduler's preemption decision, upstream's
// DefaultPreemption PostFilter plugin: when a pod fits no node, Evaluator.Preempt finds
// the node where evicting pods of lower priority would let it fit, and the fewest and
// least important such pods (the victims), honouring PodDisruptionBudgets where it can.
//
// The decision is pure: Preempt reads the cycle's snapshot, the nominated pods and the
// budgets it is given and returns a Result; the scheduler does the IO (nominating the
// preemptor, marking and deleting the victims, clearing the nominations of pods of lower
// priority on that node).
//
// A pod is not eligible when its preemptionPolicy is Never, or when it is nominated to
// a node where a pod it may preempt is still terminating because of preemption. The
// candidate nodes are those whose filters rejected the pod as Unschedulable (not
// UnschedulableAndUnresolvable). On each, every pod of lower priority is removed; if the
// pod then fits, victims are reprieved from the most important down while it still
// fits, first those whose eviction would violate a budget, then the others. Among the
// candidates the node is picked as upstream picks it: fewest budget violations, lowest
// highest victim priority, smallest sum of victim priorities, fewest victims, latest
// start of the highest-priority victims, then the first.
package preemption
