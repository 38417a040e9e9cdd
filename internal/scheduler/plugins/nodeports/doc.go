// Package nodeports provides the NodePorts plugin: a pod may not go on a node where a
// host port it asks for is already bound by another pod.
package nodeports
