// Package satokens is the controller of legacy service account token Secrets, as
// upstream's tokens controller: a Secret of type kubernetes.io/service-account-token
// that names an account (annotation kubernetes.io/service-account.name) gets a
// non-expiring token of that account, the cluster CA and the namespace, and the
// account's UID in its annotations; one whose account is gone (or was made anew) is
// deleted. Such tokens are valid while their Secret holds them.
package satokens
