// Package csrsigning is the controller that issues the certificates of approved
// CertificateSigningRequests with the cluster CA, for upstream's built-in signers:
// kubernetes.io/kube-apiserver-client (users), kube-apiserver-client-kubelet (nodes'
// client certificates) and kubelet-serving (nodes' serving certificates). A request
// that does not meet its signer's rules gets the Failed condition with reason
// SignerValidationFailure, as upstream's signer does; requests to other signers are
// left to whoever runs them.
package csrsigning
