package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/warning"
)

// patch serves PATCH of an object or its status with a JSON patch, a JSON merge patch, a
// strategic merge patch or a server-side apply.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, false)
	if !ok {
		return
	}
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	opts, err := parseWriteOptions(r)
	if err != nil {
		fail(err)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pt := types.PatchType(ct)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
	default:
		fail(apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", res.groupResource(), ri.Name,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s, %s, %s",
				types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType, types.ApplyCBORPatchType), 0, false))
		return
	}
	apply := pt == types.ApplyYAMLPatchType || pt == types.ApplyCBORPatchType
	switch {
	case apply && r.URL.Query().Get("fieldManager") == "":
		fail(apierrors.NewInvalid(optionsKind(r.Method), "", field.ErrorList{field.Required(field.NewPath("fieldManager"), "is required for apply patch")}))
		return
	case !apply && opts.force != nil:
		fail(apierrors.NewInvalid(optionsKind(r.Method), "", field.ErrorList{field.Forbidden(field.NewPath("force"), "may not be specified for non-apply patch")}))
		return
	}
	data, err := readBody(r)
	if err != nil {
		fail(err)
		return
	}
	if apply {
		s.apply(w, r, res, ri, mt, pt, opts, data)
		return
	}
	var warnings []string
	out, err := s.updateWith(r.Context(), res, ri, opts, func(cur runtime.Object) (runtime.Object, error) {
		curJSON, err := json.Marshal(s.withKind(cur, res.info.GroupVersionKind()))
		if err != nil {
			return nil, err
		}
		patched, err := applyPatch(pt, curJSON, data, res.strategy.New())
		if err != nil {
			return nil, err
		}
		obj, warns, err := s.decodeObject(res, mediaJSON, patched, opts.validation)
		warnings = warns
		return obj, err
	})
	if err != nil {
		fail(err)
		return
	}
	addWarnings(w, append(warnings, warning.From(r.Context())...))
	s.writeObject(w, r, res, mt, http.StatusOK, out)
}

// maxJSONPatchOperations bounds a JSON patch, as upstream does.
const maxJSONPatchOperations = 10000

// limitJSONPatchCopies bounds what copy operations may build up, so that a small patch
// cannot grow an object without limit. The library keeps the bound in a package
// variable; New sets it once, as kube-apiserver does.
func limitJSONPatchCopies() { jsonpatch.AccumulatedCopySizeLimit = maxBody }

// applyPatch applies a patch of type pt to the JSON of an object; schema is an empty
// object of the kind (dataStruct), for strategic merge patch's merge keys.
func applyPatch(pt types.PatchType, original, patch []byte, dataStruct runtime.Object) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if len(p) > maxJSONPatchOperations {
			return nil, apierrors.NewRequestEntityTooLargeError(
				fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d", maxJSONPatchOperations, len(p)))
		}
		return applyJSONPatch(p, original)
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	default:
		var p map[string]any
		if err := json.Unmarshal(patch, &p); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		out, err := strategicpatch.StrategicMergePatch(original, patch, dataStruct)
		if err != nil {
			return nil, patchFailed(err)
		}
		return out, nil
	}
}

// applyJSONPatch applies a decoded JSON patch. The library panics on some patches
// instead of failing (a replace or test of the whole document without a value, a test
// of an array that holds null); those fail as any patch that does not apply.
func applyJSONPatch(p jsonpatch.Patch, original []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, patchFailed(fmt.Errorf("the JSON patch cannot be applied: %v", r))
		}
	}()
	out, err = p.Apply(original)
	if err != nil {
		return nil, patchFailed(err)
	}
	return out, nil
}

// patchFailed is the 422 of a patch that does not apply, as upstream answers it (reason
// Invalid, the cause in details), except that the message also says what failed:
// upstream's says only that the request was rejected.
func patchFailed(err error) error {
	st := apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
	st.ErrStatus.Message += ": " + err.Error()
	return st
}
