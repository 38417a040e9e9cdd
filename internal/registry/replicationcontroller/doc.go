// Package replicationcontroller provides the strategy for core/v1 ReplicationControllers:
// their v1 defaults (one replica; selector and labels taken from the pod template),
// upstream's validation, the status subresource and the replica counts that the scale
// subresource serves. Nothing here runs pods: that is a controller's job.
package replicationcontroller
