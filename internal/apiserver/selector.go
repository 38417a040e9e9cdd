package apiserver

import (
	"fmt"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// filterFor builds the predicate of a list or watch from its labelSelector and
// fieldSelector, and from the object name of a legacy watch path. The predicate takes
// stored objects. A nil predicate matches everything.
func filterFor(res *resource, q url.Values, name string) (func(runtime.Object) bool, error) {
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if !res.fieldKeys[req.Field] {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	if name != "" {
		fs = fields.AndSelectors(fs, fields.OneTermEqualSelector("metadata.name", name))
	}
	if ls.Empty() && fs.Empty() {
		return nil, nil
	}
	return func(obj runtime.Object) bool {
		if !ls.Empty() {
			m, err := meta.Accessor(obj)
			if err != nil || !ls.Matches(labels.Set(m.GetLabels())) {
				return false
			}
		}
		if !fs.Empty() {
			ext, err := res.toExternal(obj)
			if err != nil || !fs.Matches(res.strategy.Fields(ext)) {
				return false
			}
		}
		return true
	}, nil
}
