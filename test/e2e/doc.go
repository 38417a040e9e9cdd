// Package e2e holds whole-binary tests: they start bin/podium on loopback ports in a
// temporary data directory and drive it with the real kubectl (bin/podium-kubectl) and
// client-go, as a user would.
package e2e
