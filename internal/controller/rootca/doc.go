// Package rootca provides the controller that publishes the cluster CA to every
// namespace, as ConfigMap kube-root-ca.crt with the key ca.crt, and keeps it so.
package rootca
