// Package builtin lists the registry strategies of every resource podium serves, for the
// server and for tests that need the whole API.
package builtin
