// Package registry provides the per-resource strategies of the API server: for each served
// resource, what it is called, how it is defaulted and validated, which fields a client may
// change on update and on the status subresource, which fields a field selector can match,
// and the columns of its server-side Table.
//
// A strategy is pure: it never touches storage or the network. The API server calls it in
// this order on every write: PrepareForCreate or PrepareForUpdate, Default, then Validate or
// ValidateUpdate. Adding a resource means writing one strategy and listing it in the
// server's wiring.
package registry
