// Package interpodaffinity provides the InterPodAffinity plugin for required terms: a
// pod with required pod affinity may only go into a topology domain (nodes sharing the
// value of the term's topologyKey label) that already runs a pod matching every term;
// a pod with required anti-affinity may not go into a domain running a pod matching
// one of its terms; and no pod may go into a domain where a pod already there has a
// required anti-affinity term matching it.
//
// The first pod of a group that has affinity to itself may go anywhere the topology
// labels exist, when no pod in the cluster matches its terms yet.
//
// The plugin's PreFilter state follows pods added to or removed from a node (AddPod,
// RemovePod), so that preemption and nominated pods can be judged without working it
// out again over every node.
package interpodaffinity
