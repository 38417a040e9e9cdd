// Package crd runs CustomResourceDefinitions, as apiextensions-apiserver's naming,
// establishing and finalizer controllers and its handler's serving do together: it
// accepts a definition's names when no other definition of its group holds them
// (condition NamesAccepted), has the API server serve its versions, then marks it
// Established; once a definition is deleted, it deletes the custom resources it served
// (condition Terminating) and removes the cleanup finalizer, and the API server stops
// serving them.
//
// Serving comes before Established, in one loop, so that a client that waits for
// Established finds the resource served.
package crd
