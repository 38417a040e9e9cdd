// Package resourcequota keeps each ResourceQuota's status as kube-controller-manager's
// resource quota controller does: status.hard is the spec's and status.used what the
// namespace's objects use, by the quota evaluators, recomputed when the quota changes,
// when an object of a resource it counts is added, changed or deleted, and every five
// minutes. (The ResourceQuota admission plugin adds to status.used as it admits; this
// controller gives back what deleted objects used.)
package resourcequota
