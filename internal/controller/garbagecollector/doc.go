// Package garbagecollector deletes objects whose owners are gone, as upstream's garbage
// collector does, from every object's metadata.ownerReferences:
//
//   - An object all of whose owners are gone (not found, or found with another UID) is
//     deleted in the background; one whose remaining owners are being deleted in the
//     foreground is deleted in the foreground, so that chains block as they should. An
//     object with an owner left loses its references to the gone ones.
//   - An owner being deleted with the orphan finalizer (propagationPolicy Orphan) has
//     its references removed from every dependent, then the finalizer.
//   - An owner being deleted with the foregroundDeletion finalizer (propagationPolicy
//     Foreground) has its dependents deleted; the finalizer goes once no dependent whose
//     reference sets blockOwnerDeletion is left.
//
// It watches the metadata of every resource discovery lists as listable, watchable and
// deletable, and keeps a graph of owners and dependents in memory, so that dependents
// of owners deleted while it was not running are found when it starts. An owner not in
// the graph (informers lag, or a kind not watched) is looked up on the API server
// before anything is deleted.
package garbagecollector
