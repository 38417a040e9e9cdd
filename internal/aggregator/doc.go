// Package aggregator is the API server's front proxy to aggregated API servers, as
// kube-aggregator's proxy handler and discovery manager: the group versions of
// APIServices backed by a Service are proxied to one of the Service's endpoints over
// TLS (the APIService's caBundle, ServerName SERVICE.NAMESPACE.svc), authenticated with
// the front proxy's client certificate, with the user in the X-Remote-* headers and
// the client's own credentials removed. Their discovery is fetched from the extension
// server (aggregated discovery, or the group version's resource list) and merged into
// the API server's.
package aggregator
