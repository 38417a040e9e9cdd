// Package endpoints provides the strategy for core/v1 endpoints, the per-service address
// lists that kube-proxy and clients of headless services read.
package endpoints
