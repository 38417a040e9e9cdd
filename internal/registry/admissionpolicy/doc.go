// Package admissionpolicy provides the strategies for admissionregistration.k8s.io/v1
// ValidatingAdmissionPolicies (with their status) and ValidatingAdmissionPolicyBindings:
// upstream's defaults (failurePolicy Fail, matchPolicy Equivalent, empty selectors, rule
// scope "*") and the checks of their shape. The CEL expressions are compiled, and
// refused if they do not compile, by the admission that runs them.
package admissionpolicy
