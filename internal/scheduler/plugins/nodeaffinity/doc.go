// Package nodeaffinity provides the NodeAffinity plugin: a pod may only go on a node
// that its nodeSelector and required node affinity match, and prefers nodes by the
// weights of the preferred node affinity terms they match.
package nodeaffinity
