// Package admission provides admissions that take part in writes with what the user
// may do: Escalation keeps a user from granting through RBAC what it does not hold, and
// NodeRestriction keeps a node from giving itself labels, taints or pod CIDRs a kubelet
// may not set, as upstream's plugins of those names.
package admission
