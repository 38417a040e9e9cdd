// Package resourcename classifies compute resource names as upstream's API helpers do
// (hugepages, native, extended) and lists a ResourceList's names in order, for the
// validation and admission of pods, quotas, limit ranges and runtime classes.
package resourcename
