// Package slicetracker provides the record an EndpointSlice-writing controller keeps of
// its own writes: per owner key, the generation of every slice it created or updated
// and the slices it deleted, so that a sync can tell an informer cache that has not yet
// seen those writes, and an event that is someone else's change from the echo of its
// own. The EndpointSlice and EndpointSlice mirroring controllers share it.
package slicetracker
