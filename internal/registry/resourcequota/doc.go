// Package resourcequota provides the strategy for core/v1 ResourceQuotas, the per-namespace
// caps on object counts and compute resources: DNS subdomain names, upstream's defaults
// (quantities rounded up to whole milli-units), its validation of the hard limits (resource
// names known to quota or fully qualified, non-negative and, for counted resources, whole
// quantities), of scopes and scope selectors and their fit with the limited resources, scopes
// that never change once set, the status subresource the quota controller writes, and the
// Table columns kubectl shows.
//
// Upstream warns on create when a request cap exceeds the matching limit cap (requests.cpu
// above limits.cpu); strategies here cannot return warnings, so the check is offered as
// CreateWarnings for whoever can send them.
package resourcequota
