// Package apiservice provides the strategy of apiregistration.k8s.io/v1 APIServices:
// kube-aggregator's defaults and validation (run on its internal form of the object),
// the status subresource, and kubectl's columns.
//
// podium registers a local APIService for every group version it serves; it does not
// proxy to aggregated API servers yet, so an APIService backed by a Service is reported
// unavailable.
package apiservice
