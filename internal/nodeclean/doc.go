// Package nodeclean provides the last resort of `podium agent uninstall`, of tests and of
// the conformance runner after a node stopped: it finds what the node's pods left on the
// host below its data directory (mount points, podium-shim processes) and removes it, by
// PID and by path.
package nodeclean
