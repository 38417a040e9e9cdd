// Package certificatesigningrequest provides the strategy for certificates.k8s.io/v1
// CertificateSigningRequests: a request parsed and its signature checked, usages and
// signer names checked as upstream checks them, a spec that never changes after
// creation, approval conditions written only through the approval subresource and the
// certificate only through status (once), and the Table columns kubectl shows.
//
// Who asked (spec.username, groups, uid, extra) is filled in from the request's user by
// an admission, which also holds the approve and sign permissions; see
// internal/admission.
package certificatesigningrequest
