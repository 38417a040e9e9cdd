// Package pernamespace provides the shape of controllers that keep one named object in
// every active namespace (the default ServiceAccount, kube-root-ca.crt): a loop keyed by
// namespace, fed by the namespaces and by changes to that object, that skips namespaces
// which are gone or terminating and hands the rest to the controller's own ensure step.
package pernamespace
