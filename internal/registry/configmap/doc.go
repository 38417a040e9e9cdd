// Package configmap provides the strategy for core/v1 config maps: keys must be valid
// file names, the data is capped at 1 MiB, and an immutable config map keeps its data.
package configmap
