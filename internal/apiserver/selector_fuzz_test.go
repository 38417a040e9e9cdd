package apiserver

import (
	"net/http"
	"net/url"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// FuzzFilterFor feeds labelSelector, fieldSelector and a legacy watch path's name to
// filterFor, as list, watch and deletecollection parse them. A selector that does not
// parse, or a field the resource does not support, is a 400. Otherwise the predicate is
// nil exactly when nothing is selected, runs on objects of the resource without
// panicking, and judges them as the selectors' canonical forms (String, as clients echo
// them back) do.
func FuzzFilterFor(f *testing.F) {
	_, resources := fuzzServer(f)
	pods := indexOf(f, resources, "", "pods")
	for _, seed := range []struct {
		res                uint8
		labelSel, fieldSel string
		name               string
	}{
		{pods, "", "", ""},
		{pods, "app=a", "", ""},
		{pods, "app==a,tier!=db", "metadata.name=p", ""},
		{pods, "app in (a, b),!legacy,env notin (prod)", "spec.nodeName=n,status.phase!=Running", ""},
		{pods, "example.com/key", "metadata.namespace==fuzz", "p"},
		{pods, "x>1,y<3", "", ""},
		{pods, "app=", `metadata.name=a\,b`, ""},
		{pods, "a=(", "spec.nodeName", ""},
		{pods, "", "unknown.field=x", ""},
		{pods, "", `metadata.name=\`, ""},
		{pods, "!", "=", ""},
		{indexOf(f, resources, "", "events"), "", "involvedObject.kind=Pod,reason=Killing", ""},
		{indexOf(f, resources, "", "secrets"), "", "type=Opaque", ""},
		{indexOf(f, resources, "", "namespaces"), "kubernetes.io/metadata.name=default", "status.phase=Active", "default"},
	} {
		f.Add(seed.res, seed.labelSel, seed.fieldSel, seed.name)
	}
	f.Fuzz(func(t *testing.T, i uint8, labelSel, fieldSel, name string) {
		res := pick(resources, i)
		filter, err := filterFor(res, url.Values{"labelSelector": {labelSel}, "fieldSelector": {fieldSel}}, name)
		if err != nil {
			wantClientError(t, err, res, http.StatusBadRequest)
			return
		}
		ls, lerr := labels.Parse(labelSel)
		fs, ferr := fields.ParseSelector(fieldSel)
		if lerr != nil || ferr != nil {
			t.Fatalf("filterFor accepted selectors that do not parse: %v, %v", lerr, ferr)
		}
		if (filter == nil) != (ls.Empty() && fs.Empty() && name == "") {
			t.Fatalf("predicate %v for label selector %q, field selector %q, name %q", filter != nil, ls, fs, name)
		}
		canonical, err := filterFor(res, url.Values{"labelSelector": {ls.String()}, "fieldSelector": {fs.String()}}, name)
		if err != nil {
			t.Fatalf("the canonical selectors %q and %q do not parse: %v", ls, fs, err)
		}
		for _, obj := range selectorSamples(res, ls, name) {
			if got, want := judge(filter, obj), judge(canonical, obj); got != want {
				t.Fatalf("selectors %q, %q judge %v; their canonical forms %q, %q judge %v", labelSel, fieldSel, got, ls, fs, want)
			}
		}
	})
}

func judge(filter func(runtime.Object) bool, obj runtime.Object) bool {
	return filter == nil || filter(obj)
}

// selectorSamples returns stored objects of res that a selector may match: an empty
// one, and one named name carrying labels with the keys and values that sel mentions.
func selectorSamples(res *resource, sel labels.Selector, name string) []runtime.Object {
	empty := res.newStored()
	obj := res.newStored()
	m, err := meta.Accessor(obj)
	if err != nil {
		return []runtime.Object{empty}
	}
	m.SetName(name)
	m.SetNamespace("fuzz")
	set := labels.Set{}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		set[r.Key()] = ""
		for v := range r.Values() {
			set[r.Key()] = v
			break
		}
	}
	m.SetLabels(set)
	return []runtime.Object{empty, obj}
}
