// Package deployment provides the strategy for apps/v1 Deployments: defaults (a rolling
// update of 25% surge and 25% unavailable), validation, status and scale handling,
// field selectors and table columns as upstream serves them.
//
// The generation moves when the spec or the annotations change, since the annotations
// are copied to the Deployment's ReplicaSets. The deprecated rollback annotation
// (deprecated.deployment.rollback.to) is checked as upstream checks the
// spec.rollbackTo it stands for.
package deployment
