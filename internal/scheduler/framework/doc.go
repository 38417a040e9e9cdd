// Package framework provides the scheduler's plugin contracts and the state they judge:
// NodeInfo (a node with the pods on it, assumed ones included, and what they request),
// PodInfo (a pod with its requests and affinity terms worked out once), Status (the
// outcome of a check: Success, Unschedulable, UnschedulableAndUnresolvable or Error,
// with reasons), the Filter and Score plugin interfaces, and Profile, which runs a set of
// plugins over the nodes of one scheduling cycle.
//
// A plugin is a small package with Name(), New() and a pure check. Plugins never do IO:
// they read a NodeInfo snapshot and the cycle's state and return a Status. Being
// unschedulable is a Status, not an error; Error is for a plugin that could not decide.
//
// Preemption and nominated pods ask "what if": a PreFilterExtensions plugin updates a
// clone of its PreFilter state for a pod added to or removed from a clone of a node, and
// Profile.RunFiltersWithNominatedPods filters a node as upstream does, with the pods
// nominated there (a PodNominator lists them) and without.
package framework
