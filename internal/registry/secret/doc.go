// Package secret provides the strategy for core/v1 secrets: stringData is folded into
// data on every write, the type defaults to Opaque and never changes, each type requires
// its keys, the data is capped at 1 MiB, and an immutable secret keeps its data.
package secret
