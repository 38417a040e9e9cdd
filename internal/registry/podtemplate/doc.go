// Package podtemplate provides the PodTemplate strategy: stored pod templates, checked
// and defaulted as the pods made from them would be.
package podtemplate
