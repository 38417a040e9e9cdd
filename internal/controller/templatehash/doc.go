// Package templatehash computes upstream's hash of a pod template, which names the
// ReplicaSets of Deployments (pod-template-hash) and the ControllerRevisions of
// DaemonSets and StatefulSets (controller-revision-hash).
package templatehash
