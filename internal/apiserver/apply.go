package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/cbor/direct"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/yaml"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/storage"
	"github.com/podium/podium/internal/warning"
)

// fieldManager returns the manager of the fields of res written through subresource
// ("" for the object itself; "scale" for its scale).
func (s *Server) fieldManager(res *resource, subresource string) (*managedfields.FieldManager, error) {
	if own, ok := res.strategy.(interface {
		FieldManager(subresource string) (*managedfields.FieldManager, error)
	}); ok {
		return own.FieldManager(subresource)
	}
	return s.fields.For(res.info.GroupVersionKind(), subresource, res.strategy.New(), res.strategy.Default)
}

// recordFields records in obj's managedFields that opts.manager made obj, the next
// state of live, through subresource. Untracked writes leave them as they are.
func (s *Server) recordFields(res *resource, subresource string, live, obj runtime.Object, opts writeOptions) (runtime.Object, error) {
	if !opts.tracked {
		return obj, nil
	}
	fm, err := s.fieldManager(res, subresource)
	if err != nil {
		return nil, err
	}
	return fm.UpdateNoErrors(live, obj, opts.manager), nil
}

// decodeApply decodes the body of a server-side apply (YAML, or CBOR) into the object
// it applies. Under Strict field validation duplicated fields are an error, under Warn
// a warning. Fields the schema does not know fail the apply itself, as upstream's do.
func decodeApply(pt types.PatchType, data []byte, kind string, validation fieldValidation) (*unstructured.Unstructured, []string, error) {
	if err := checkExponents(data); err != nil {
		return nil, nil, err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	var warnings []string
	if pt == types.ApplyCBORPatchType {
		if err := direct.Unmarshal(data, &obj.Object); err != nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
	} else {
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err))
		}
		if validation != validationIgnore {
			if err := yaml.UnmarshalStrict(data, &map[string]any{}); err != nil {
				if validation == validationStrict {
					return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding patch: %v", err))
				}
				warnings = append(warnings, err.Error())
			}
		}
	}
	if obj.Object == nil {
		return nil, nil, apierrors.NewBadRequest("error decoding patch: the apply configuration is empty")
	}
	if got := obj.GetKind(); got != kind {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got, kind))
	}
	return obj, warnings, nil
}

// apply serves a server-side apply: the applied configuration is merged into the object
// by field ownership, and an object that does not exist yet is created from it.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo, mt mediaType, pt types.PatchType, opts writeOptions, data []byte) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	applied, warnings, err := decodeApply(pt, data, res.info.Kind, opts.validation)
	if err != nil {
		fail(err)
		return
	}
	fm, err := s.fieldManager(res, ri.Subresource)
	if err != nil {
		fail(err)
		return
	}
	force := opts.force != nil && *opts.force
	merge := func(live runtime.Object) (runtime.Object, error) {
		return fm.Apply(live, applied.DeepCopy(), opts.manager, force)
	}
	untracked := opts
	untracked.tracked = false // the merge records the fields itself
	code := http.StatusOK
	out, err := s.updateWith(r.Context(), res, ri, untracked, merge)
	if errors.Is(err, storage.ErrNotFound) && ri.Subresource == "" {
		code = http.StatusCreated
		out, err = s.applyCreate(r.Context(), res, ri, untracked, merge)
		if errors.Is(err, storage.ErrExists) { // made meanwhile: merge into it
			code = http.StatusOK
			out, err = s.updateWith(r.Context(), res, ri, untracked, merge)
		}
	}
	if err != nil {
		fail(err)
		return
	}
	addWarnings(w, append(warnings, warning.From(r.Context())...))
	s.writeObject(w, r, res, mt, code, out)
}

// applyCreate creates the object an apply names from the applied configuration alone.
func (s *Server) applyCreate(ctx context.Context, res *resource, ri requestInfo, opts writeOptions, merge func(runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	obj, err := merge(res.strategy.New())
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if m.GetName() != ri.Name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), ri.Name))
	}
	if err := checkNamespace(res, m, ri.Namespace); err != nil {
		return nil, err
	}
	if res.info.Namespaced {
		if err := s.namespaceExists(ctx, m.GetNamespace(), res.groupResource(), m.GetName()); err != nil {
			return nil, err
		}
	}
	return s.createOne(ctx, res, obj, opts)
}

// replicasPaths says where the scale subresource's spec.replicas is in each served
// version of the kinds that have one.
var replicasPaths = managedfields.ResourcePathMappings{
	"apps/v1": fieldpath.MakePathOrDie("spec", "replicas"),
	"v1":      fieldpath.MakePathOrDie("spec", "replicas"),
}

// applyScale merges an applied Scale into parent's, as upstream does: the owners of the
// parent's spec.replicas become the Scale's, the Scale's field manager merges, and its
// owners go back onto the parent, whose managedFields it sets.
func (s *Server) applyScale(res *resource, sc registry.Scaler, parent runtime.Object, applied *unstructured.Unstructured, opts writeOptions) (*autoscalingv1.Scale, error) {
	m, err := meta.Accessor(parent)
	if err != nil {
		return nil, err
	}
	paths := replicasPaths
	if rp, ok := res.strategy.(interface {
		ReplicasPaths() managedfields.ResourcePathMappings
	}); ok {
		paths = rp.ReplicasPaths()
	}
	h := managedfields.NewScaleHandler(m.GetManagedFields(), res.info.GroupVersion(), paths)
	owners, err := h.ToSubresource()
	if err != nil {
		return nil, err
	}
	cur := scaleOf(sc, parent)
	cur.ManagedFields = owners
	fm, err := s.fields.Scale()
	if err != nil {
		return nil, err
	}
	merged, err := fm.Apply(cur, applied, opts.manager, opts.force != nil && *opts.force)
	if err != nil {
		return nil, err
	}
	want, ok := merged.(*autoscalingv1.Scale)
	if !ok {
		return nil, fmt.Errorf("applying a Scale made a %T", merged)
	}
	owners, err = h.ToParent(want.ManagedFields)
	if err != nil {
		return nil, err
	}
	m.SetManagedFields(owners)
	return want, nil
}
