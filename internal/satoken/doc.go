// Package satoken issues and checks service account tokens, as upstream's: bound JWTs
// signed with the cluster's service account key (ES256), whose private claims name the
// namespace, the service account and the object the token is bound to (a pod, a secret
// or a node), and which stop working once that object, or the account, is gone; the
// legacy tokens of kubernetes.io/service-account-token Secrets, valid while the Secret
// holds them; and the issuer's OpenID discovery document and key set, so that others can
// check the tokens.
package satoken
