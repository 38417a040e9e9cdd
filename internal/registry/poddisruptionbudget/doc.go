// Package poddisruptionbudget provides the strategy for policy/v1 PodDisruptionBudgets:
// the spec (mutable in policy/v1) checked as upstream checks it, the status
// subresource the disruption controller writes, and the Table columns kubectl shows.
// PodDisruptionBudgets have no defaults.
package poddisruptionbudget
