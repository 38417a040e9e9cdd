// Package reconcile provides the loop every controller runs: a rate-limited work queue
// of keys and a sync function that brings one key to its desired state, retried with
// back-off when it fails.
package reconcile
