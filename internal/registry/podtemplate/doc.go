// Package podtemplate provides the PodTemplate strategy: stored pod templates, checked as
// the pods made from them would be and given upstream's PodSpec defaults (not the ones
// only pods get).
package podtemplate
