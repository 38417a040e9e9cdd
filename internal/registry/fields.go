package registry

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

// MetaFields returns the field-selector values every resource has: metadata.name, and
// metadata.namespace for namespaced resources. Strategies add their own to it.
func MetaFields(obj runtime.Object, namespaced bool) fields.Set {
	m, err := meta.Accessor(obj)
	if err != nil {
		return fields.Set{}
	}
	set := fields.Set{"metadata.name": m.GetName()}
	if namespaced {
		set["metadata.namespace"] = m.GetNamespace()
	}
	return set
}
