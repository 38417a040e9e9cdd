// Package event provides the strategy for core/v1 events, and the event validation that
// the events.k8s.io/v1 strategy shares: both kinds live in the same storage as core/v1
// events, and a write is checked strictly only when it comes through events.k8s.io.
package event
