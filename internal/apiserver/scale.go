package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var scaleKind = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// scale serves the scale subresource of a resource whose strategy is a Scaler: an
// autoscaling/v1 Scale whose spec.replicas reads and writes the object's, as kubectl
// scale and autoscalers use it. GET, PUT and PATCH (JSON, merge and strategic merge
// patches of the Scale) are served.
func (s *Server) scale(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	sc, ok := res.strategy.(registry.Scaler)
	if !ok {
		fail(apierrors.NewNotFound(res.groupResource(), ri.Name))
		return
	}
	mt, ok := s.negotiate(w, r, res, false)
	if !ok {
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil && ri.Verb != "get" {
		fail(err)
		return
	}
	var next func(cur runtime.Object) (*autoscalingv1.Scale, error) // the Scale asked for
	switch ri.Verb {
	case "get":
		obj := res.newStored()
		done := s.metrics.etcdTimer("get", res.info.Resource)
		err := s.cfg.Store.Get(r.Context(), res.key(ri.Namespace, ri.Name), obj)
		done()
		if err != nil {
			fail(err)
			return
		}
		ext, err := res.toExternal(obj)
		if err != nil {
			fail(err)
			return
		}
		s.encode(w, mt, http.StatusOK, scaleOf(sc, ext))
		return
	case "update":
		want := &autoscalingv1.Scale{}
		if err := s.decodeInto(r, want); err != nil {
			fail(err)
			return
		}
		if want.Name != ri.Name {
			fail(apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", want.Name, ri.Name)))
			return
		}
		next = func(runtime.Object) (*autoscalingv1.Scale, error) { return want, nil }
	case "patch":
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		pt := types.PatchType(ct)
		data, err := readBody(r)
		if err != nil {
			fail(err)
			return
		}
		switch pt {
		case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
			next = func(cur runtime.Object) (*autoscalingv1.Scale, error) {
				curJSON, err := json.Marshal(scaleOf(sc, cur))
				if err != nil {
					return nil, err
				}
				patched, err := applyPatch(pt, curJSON, data, &autoscalingv1.Scale{})
				if err != nil {
					return nil, err
				}
				want := &autoscalingv1.Scale{}
				if err := json.Unmarshal(patched, want); err != nil {
					return nil, apierrors.NewBadRequest(fmt.Sprintf("the patched Scale does not decode: %v", err))
				}
				return want, nil
			}
		case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
			if r.URL.Query().Get("fieldManager") == "" {
				fail(apierrors.NewInvalid(optionsKind(r.Method), "", field.ErrorList{field.Required(field.NewPath("fieldManager"), "is required for apply patch")}))
				return
			}
			applied, warnings, err := decodeApply(pt, data, scaleKind.Kind, validationWarn)
			if err != nil {
				fail(err)
				return
			}
			addWarnings(w, warnings)
			next = func(cur runtime.Object) (*autoscalingv1.Scale, error) {
				return s.applyScale(res, sc, cur, applied, opts)
			}
			opts.tracked = false // applyScale records the fields itself
		default:
			fail(apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", res.groupResource(), ri.Name,
				fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s, %s, %s",
					types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType, types.ApplyCBORPatchType), 0, false))
			return
		}
	default:
		s.methodNotAllowed(w, r, res, ri)
		return
	}
	main := ri
	main.Subresource = "" // the object is written as by an update of it
	opts.fieldsOf = "scale"
	out, err := s.updateWith(r.Context(), res, main, opts, func(cur runtime.Object) (runtime.Object, error) {
		want, err := next(cur)
		if err != nil {
			return nil, err
		}
		if want.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(scaleKind.GroupKind(), ri.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), want.Spec.Replicas, "must be greater than or equal to 0")})
		}
		m, _ := meta.Accessor(cur)
		if want.ResourceVersion != "" {
			m.SetResourceVersion(want.ResourceVersion) // a precondition, checked against what is stored
		}
		if want.UID != "" {
			m.SetUID(want.UID)
		}
		sc.SetReplicas(cur, want.Spec.Replicas)
		return cur, nil
	})
	if err != nil {
		fail(err)
		return
	}
	s.encode(w, mt, http.StatusOK, scaleOf(sc, out))
}

// scaleOf returns the Scale of obj.
func scaleOf(sc registry.Scaler, obj runtime.Object) *autoscalingv1.Scale {
	m, _ := meta.Accessor(obj)
	spec, status, selector := sc.Replicas(obj)
	out := &autoscalingv1.Scale{
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}
	out.APIVersion, out.Kind = scaleKind.GroupVersion().String(), scaleKind.Kind
	out.Name, out.Namespace, out.UID = m.GetName(), m.GetNamespace(), m.GetUID()
	out.ResourceVersion, out.CreationTimestamp = m.GetResourceVersion(), m.GetCreationTimestamp()
	return out
}
