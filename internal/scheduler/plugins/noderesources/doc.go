// Package noderesources provides the NodeResourcesFit plugin: a pod may only go on a
// node whose allocatable resources, less what the pods already there request, cover
// the pod's requests and leave room for one more pod; among those, nodes with the
// most left over score highest (least allocated).
package noderesources
