// Package localpath provides podium's built-in local-path provisioner, as k3s ships:
// the default StorageClass "local-path" (volumeBindingMode WaitForFirstConsumer,
// reclaimPolicy Delete) whose claims become directories on the node the scheduler
// picked for their first pod.
//
// It acts on claims the PV controller handed to it (the storage-provisioner annotation
// naming rancher.io/local-path) once the scheduler chose a node (the selected-node
// annotation): it asks that node's agent, through the API server's nodes/NAME/proxy,
// to make the directory (package internal/localpath serves it there), and creates a
// local PersistentVolume "pvc-UID" with node affinity to that node, pre-bound to the
// claim, which the PV controller then binds. A volume it made that is Released with
// reclaimPolicy Delete has its directory removed on its node, then is deleted.
package localpath
