// Package clusterroleaggregation provides the controller that fills in aggregated
// ClusterRoles, as upstream's: a ClusterRole with an aggregationRule gets, as its rules,
// the rules of every other ClusterRole its selectors match (admin, edit and view are
// made so), kept current as those change.
package clusterroleaggregation
