// Package runtime provides the agent's view of a container runtime: an interface shaped
// like the CRI (k8s.io/cri-api runtime/v1 messages), so that the built-in runc runtime
// (package runtime/runc) and, later, a remote CRI runtime such as containerd fit behind
// the same seam.
package runtime
