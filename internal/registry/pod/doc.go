// Package pod provides the registry strategy for core/v1 Pods: the defaults the
// API server applies on every write (including those upstream leaves to the
// ServiceAccount, Priority and DefaultTolerationSeconds admission plugins), the
// validation of creates, updates and status writes with upstream's field paths and
// messages, the server-side Table columns (upstream's printPod), field selectors,
// graceful deletion, and the binding subresource's effect on a pod.
//
// Everything here is a pure function of its inputs: the API server decodes, calls
// the strategy, and does the storage IO.
//
// The write pipeline the strategy expects, per the registry.Strategy contract:
//
//	create:        PrepareForCreate -> Default -> Validate
//	update:        PrepareForUpdate -> Default -> ValidateUpdate
//	status update: PrepareForStatusUpdate -> Default -> ValidateStatusUpdate
//	binding:       Bind -> (store the pod; no validation of the pod is needed)
//	delete:        CheckGracefulDelete decides between a graceful and an immediate delete
package pod
