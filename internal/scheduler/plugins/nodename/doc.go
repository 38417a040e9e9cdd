// Package nodename provides the NodeName plugin: a pod that names a node in
// spec.nodeName may only go on that node.
package nodename
