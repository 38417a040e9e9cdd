// Package statefulset provides the strategy for apps/v1 StatefulSets: defaults,
// validation, status and scale handling, field selectors and table columns as upstream
// v1.37 serves them.
//
// Upstream features on by default in v1.37 are on here: a rolling update's
// maxUnavailable defaults to 1. The Recreate update strategy (alpha, off) is refused
// unless the stored StatefulSet already uses it.
//
// On update, selector, serviceName, podManagementPolicy and volumeClaimTemplates may not
// change. A StatefulSet whose stored spec no longer validates keeps being updatable: its
// pod template is then not checked, as upstream does for sets stored by older versions.
package statefulset
