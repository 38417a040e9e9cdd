// Package quota provides the ResourceQuota evaluators of the core resources, as
// Kubernetes' own: the pod evaluator charges compute requests and limits and knows the
// pod scopes (Terminating, BestEffort, PriorityClass, CrossNamespacePodAffinity); the
// service evaluator counts load balancers and node ports; the persistent volume claim
// evaluator charges storage, also per storage class; configmaps, secrets,
// replicationcontrollers and resourcequotas are counted under their legacy names too.
//
// The evaluators implement k8s.io/apiserver/pkg/quota/v1's Evaluator and are handed,
// as a Configuration, to k8s.io/apiserver's ResourceQuota admission plugin and to the
// quota status controller. They take external objects (k8s.io/api/core/v1) and reject
// any other type with ErrUnsupportedObject. Listing goes through a ListFunc so the
// caller can back it with whatever cache it has; no evaluator keeps state of its own.
package quota
