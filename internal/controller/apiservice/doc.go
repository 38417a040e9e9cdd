// Package apiservice keeps the APIServices of the groups podium serves itself, as
// kube-apiserver's autoregistration and CRD registration controllers do: a local
// APIService (no service) for every built-in group version (label
// kube-aggregator.kubernetes.io/automanaged=onstart) and every custom resource group
// version (=true), removed when the group version is no longer served. It also keeps
// the Available condition of local APIServices, which are always available; those
// backed by a Service are kube-aggregator's remote availability controller's.
package apiservice
