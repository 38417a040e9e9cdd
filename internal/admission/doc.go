// Package admission provides the admissions that take part in writes, as upstream's
// plugins of the same names: Escalation keeps a user from granting through RBAC what it
// does not hold; NodeRestriction keeps a node from giving itself labels, taints or pod
// CIDRs a kubelet may not set; CertificateRequests records who asks for a certificate
// and who may approve and sign it; ServiceAccounts gives pods their account and its
// token volume; PodSecurity enforces the Pod Security Standards (from
// k8s.io/pod-security-admission); Webhooks calls the admission webhooks that users
// register (with k8s.io/apiserver's webhook plugins).
package admission
