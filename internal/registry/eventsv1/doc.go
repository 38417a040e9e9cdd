// Package eventsv1 provides the strategy for events.k8s.io/v1 events. They are stored as
// core/v1 events, in the same storage, so the strategy is also a registry.Converter; a
// write through this API is validated with events.k8s.io's stricter rules.
package eventsv1
