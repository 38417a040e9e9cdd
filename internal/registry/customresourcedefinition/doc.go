// Package customresourcedefinition provides the strategy of apiextensions.k8s.io/v1
// CustomResourceDefinitions: upstream's defaults and validation (from
// k8s.io/apiextensions-apiserver, run on its internal form of the object), the
// generation and status.storedVersions kept as upstream keeps them, the status
// subresource, and the cleanup finalizer and Terminating condition a delete begins with.
//
// What a definition serves is the customresource package's concern; naming and
// establishing it is the crd controller's.
package customresourcedefinition
