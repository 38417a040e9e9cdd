// Package namespace provides the namespace lifecycle controller: when a namespace is
// deleted (and so Terminating, held by its "kubernetes" finalizer), it deletes everything
// in it, reports progress in the namespace's conditions as upstream does, and removes
// the finalizer once nothing is left, which lets the API server remove the namespace.
package namespace
