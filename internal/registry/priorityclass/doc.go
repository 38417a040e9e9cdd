// Package priorityclass provides the strategy for scheduling.k8s.io/v1 PriorityClasses,
// the named priorities pods ask for: DNS subdomain names, upstream's default preemption
// policy (PreemptLowerPriority), the checks of a new class (user classes up to
// HighestUserDefinablePriority, names with the "system-" prefix only for the two system
// classes with their fixed values), an immutable value and preemption policy, the
// refusal to delete a system class, and the Table columns kubectl shows.
//
// SystemPriorityClasses are the objects a bootstrap creates when they are missing, as
// upstream's API server does at start. The rule that only one class may be marked
// globalDefault needs the other classes, so it is not the strategy's: upstream's
// Priority admission plugin checks it.
package priorityclass
