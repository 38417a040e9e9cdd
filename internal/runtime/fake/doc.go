// Package fake provides an in-memory container runtime and image service for tests of
// the agent: sandboxes and containers that exist only as records, with containers that
// run until stopped or exit as their image name says.
package fake
