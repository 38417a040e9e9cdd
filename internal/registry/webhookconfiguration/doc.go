// Package webhookconfiguration provides the strategies for admissionregistration.k8s.io/v1
// ValidatingWebhookConfigurations and MutatingWebhookConfigurations: upstream's defaults
// (failurePolicy Fail, matchPolicy Equivalent, empty selectors, a timeout of 10 s, rule
// scope "*", service port 443, reinvocation Never) and the checks of each webhook's
// name, client configuration, rules, side effects, review versions and timeout.
package webhookconfiguration
