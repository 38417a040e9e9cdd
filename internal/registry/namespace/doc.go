// Package namespace provides the strategy for core/v1 namespaces: a new namespace is Active
// and carries the "kubernetes" finalizer, the main resource cannot change spec.finalizers
// or the status, and the finalize subresource is the only way to change spec.finalizers.
package namespace
