// Package podclaim provides the claim step of the workload controllers: deciding which
// pods (and ControllerRevisions) an owner controls, adopting the orphans its selector
// picks and releasing the pods it owns that its selector no longer picks.
//
// A [Claimer] serves one sync of one owner. It adopts only while the owner is not
// being deleted: the cached owner's deletion timestamp is trusted when set, and before
// the first adoption the owner is read once from the API server, so that an owner whose
// deletion the cache has not yet seen keeps no pods its deletion should take. Pods being
// deleted are never adopted, and nothing is released while the owner is being deleted.
//
// Adoption patches the object's metadata with the owner's controller reference (and any
// extra finalizers) and the object's UID as a precondition; release patches the
// reference away under the same precondition. A pod that is gone, replaced by another
// of its name, or no longer holding the reference is not an error.
package podclaim
