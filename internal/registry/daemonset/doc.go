// Package daemonset provides the strategy for apps/v1 DaemonSets: defaults, validation,
// status handling, field selectors and table columns as upstream serves them.
//
// A DaemonSet's template generation, a spec field in upstream's internal form, lives in
// apps/v1 in the deprecated.daemonset.template.generation annotation. The server owns
// it: it is 1 on create (or the client's value when that is higher), and on update it
// is carried over from the stored DaemonSet and goes up by one when the pod template
// changes.
package daemonset
