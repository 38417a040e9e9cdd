// Package node provides the strategy for core/v1 nodes. Unlike most resources a node's
// status may be set on create, because the kubelet registers its node with its status
// filled in; after that the status changes only through the status subresource.
package node
