// Package authtrust keeps ConfigMap kube-system/extension-apiserver-authentication, as
// kube-apiserver's cluster authentication trust controller does: the CA of client
// certificates, and the CA, allowed names and headers of the front proxy, which
// extension API servers read to trust the requests the API server proxies to them.
package authtrust
