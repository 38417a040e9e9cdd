// Package replicaset provides the strategy for apps/v1 ReplicaSets: defaults, validation,
// status and scale handling, field selectors and table columns as upstream serves them.
// It also provides ValidateTemplate, the check of a pod template that a ReplicaSet (or a
// Deployment, whose template its ReplicaSets take) runs.
package replicaset
