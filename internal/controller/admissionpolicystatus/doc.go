// Package admissionpolicystatus type-checks ValidatingAdmissionPolicies, as
// kube-controller-manager's validatingadmissionpolicy-status controller does: each new
// generation of a policy is checked against the OpenAPI schemas of the kinds it
// matches (k8s.io/apiserver's TypeChecker, reading the server's /openapi/v3), and
// status.typeChecking lists the expressions' warnings, applied server-side with
// status.observedGeneration.
package admissionpolicystatus
