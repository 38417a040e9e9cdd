package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
)

var patchTypes = []types.PatchType{types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType}

// FuzzApplyPatch applies patches of the three types to an object, as PATCH does: the
// current object (decoded from the input's original, or an empty one when that does not
// decode) as JSON, applyPatch, decodeObject of the result, then the strategy's update
// on a dry run. Every step fails only with a 4xx: applyPatch with 400 for a patch that
// does not parse, 413 for too many operations, 422 for one that does not apply. The
// patched object re-encodes and renders as a Table row.
func FuzzApplyPatch(f *testing.F) {
	s, resources := fuzzServer(f)
	pods := indexOf(f, resources, "", "pods")
	pod := `{"metadata":{"name":"p","namespace":"fuzz","uid":"u","resourceVersion":"5","labels":{"a":"b"}},` +
		`"spec":{"containers":[{"name":"c","image":"busybox","env":[{"name":"A","value":"1"}],"ports":[{"containerPort":80,"protocol":"TCP"}]},` +
		`{"name":"d","image":"busybox"}],"tolerations":[{"key":"k","operator":"Exists"}]}}`
	for _, seed := range []struct {
		patchType uint8
		original  string
		patch     string
	}{
		{0, pod, `[{"op":"replace","path":"/metadata/labels/a","value":"c"}]`},
		{0, pod, `[{"op":"add","path":"/spec/containers/-","value":{"name":"e","image":"busybox"}}]`},
		{0, pod, `[{"op":"remove","path":"/spec/containers/0/env/0"},{"op":"test","path":"/metadata/name","value":"p"}]`},
		{0, pod, `[{"op":"copy","from":"/spec","path":"/metadata/annotations"}]`},
		{0, pod, `[{"op":"move","from":"/spec/containers/1","path":"/spec/containers/0"}]`},
		{0, pod, `[{"op":"replace","path":"","value":5}]`},
		{0, pod, `[{"op":"bogus"}]`},
		// The library panicked on these (see applyJSONPatch).
		{0, pod, `[{"op":"replace","path":""}]`},
		{0, pod, `[{"op":"test","path":""}]`},
		{0, pod, `[{"op":"add","path":"/metadata/finalizers","value":[null]},{"op":"test","path":"/metadata/finalizers","value":[null]}]`},
		{0, pod, `{}`},
		{1, pod, `{"metadata":{"labels":{"a":null,"b":"c"}}}`},
		{1, pod, `{"spec":{"containers":[{"name":"c","image":"nginx"}]}}`},
		{1, pod, `null`},
		{1, pod, `[]`},
		{2, pod, `{"spec":{"containers":[{"name":"c","image":"nginx"}]}}`},
		{2, pod, `{"spec":{"containers":[{"name":"d","$patch":"delete"}]}}`},
		{2, pod, `{"spec":{"$setElementOrder/containers":[{"name":"d"},{"name":"c"}]}}`},
		{2, pod, `{"metadata":{"$retainKeys":["name"],"labels":{"$patch":"replace","x":"y"}}}`},
		{2, pod, `{"spec":{"tolerations":[{"$patch":"replace"}]}}`},
		{2, pod, `{"$patch":"delete"}`},
		{2, pod, `{"spec":{"containers":[{"$patch":"merge"}]}}`},
		{2, `not json`, `{"metadata":{"labels":{"x":"y"}}}`},
	} {
		f.Add(pods, seed.patchType, []byte(seed.original), []byte(seed.patch))
	}
	f.Add(indexOf(f, resources, "", "services"), uint8(2),
		[]byte(`{"metadata":{"name":"s","namespace":"fuzz"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80,"protocol":"TCP"}]}}`),
		[]byte(`{"spec":{"ports":[{"port":81,"protocol":"TCP"}]}}`))
	f.Add(indexOf(f, resources, "", "nodes"), uint8(2),
		[]byte(`{"metadata":{"name":"n"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.2"}],"conditions":[{"type":"Ready","status":"True"}]}}`),
		[]byte(`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`))
	f.Fuzz(func(t *testing.T, i, pt uint8, original, patch []byte) {
		res := pick(resources, i)
		cur, _, err := s.decodeObject(res, mediaJSON, original, validationIgnore)
		if err != nil {
			cur = res.strategy.New()
		}
		if m, err := meta.Accessor(cur); err == nil && res.info.Namespaced && m.GetNamespace() == "" {
			m.SetNamespace("fuzz")
		}
		// As patch does.
		curJSON, err := json.Marshal(s.withKind(cur, res.info.GroupVersionKind()))
		if err != nil {
			t.Fatalf("marshalling the current object: %v", err)
		}
		patched, err := applyPatch(patchTypes[int(pt)%len(patchTypes)], curJSON, patch, res.strategy.New())
		if err != nil {
			wantClientError(t, err, res, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
			return
		}
		obj, _, err := s.decodeObject(res, mediaJSON, patched, validationWarn)
		if err != nil {
			wantClientError(t, err, res, http.StatusBadRequest)
			return
		}
		// As updateWith does, on what a dry run reads.
		if err := s.prepareUpdate(context.Background(), res, "", obj, cur); err != nil {
			wantClientError(t, err, res, http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity)
			return
		}
		checkEncodes(t, s, res, obj)
		checkRow(t, s, res, obj)
	})
}
