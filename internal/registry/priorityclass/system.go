package priorityclass

import (
	"fmt"

	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Upstream's priority ranges and the names of its system classes.
const (
	// HighestUserDefinablePriority is the highest value a class not named with
	// SystemPriorityClassPrefix may have; higher values are the system's.
	HighestUserDefinablePriority int32 = 1000000000
	// SystemCriticalPriority is where the values of the system classes begin.
	SystemCriticalPriority = 2 * HighestUserDefinablePriority
	// SystemPriorityClassPrefix starts the names reserved for the system classes.
	SystemPriorityClassPrefix = "system-"
	// SystemClusterCritical is the class of pods the cluster needs, which may move
	// to another node.
	SystemClusterCritical = SystemPriorityClassPrefix + "cluster-critical"
	// SystemNodeCritical is the class of pods that must stay on their node.
	SystemNodeCritical = SystemPriorityClassPrefix + "node-critical"
)

// systemClass is one system class as upstream defines it; neither is a global default.
type systemClass struct {
	name        string
	value       int32
	description string
}

// systemClasses are in upstream's order, which its validation messages follow.
var systemClasses = [...]systemClass{
	{SystemNodeCritical, SystemCriticalPriority + 1000, "Used for system critical pods that must not be moved from their current node."},
	{SystemClusterCritical, SystemCriticalPriority, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
}

// SystemPriorityClasses returns new copies of the two classes every cluster has,
// system-node-critical (2000001000) and system-cluster-critical (2000000000), with
// upstream's descriptions, for a bootstrap to create when they are missing. Like
// upstream's they leave preemptionPolicy unset: creating them through the strategy
// defaults it.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	out := make([]*schedulingv1.PriorityClass, 0, len(systemClasses))
	for _, c := range systemClasses {
		out = append(out, &schedulingv1.PriorityClass{
			ObjectMeta:  metav1.ObjectMeta{Name: c.name},
			Value:       c.value,
			Description: c.description,
		})
	}
	return out
}

// systemValue returns the value of the system class called name, and whether there is
// one.
func systemValue(name string) (int32, bool) {
	for _, c := range systemClasses {
		if c.name == name {
			return c.value, true
		}
	}
	return 0, false
}

// checkSystemClass says, with upstream's message, why name, value and globalDefault do
// not describe a system class; nil when they do.
func checkSystemClass(name string, value int32, globalDefault bool) error {
	want, ok := systemValue(name)
	switch {
	case !ok:
		return fmt.Errorf("%v is not a known system priority class", name)
	case value != want:
		return fmt.Errorf("value of %v PriorityClass must be %v", name, want)
	case globalDefault:
		return fmt.Errorf("globalDefault of %v PriorityClass must be %v", name, false)
	}
	return nil
}
