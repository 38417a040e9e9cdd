package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/dryrun"
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/storage"
	"github.com/podium/podium/internal/warning"
)

// update serves PUT of an object or its status.
func (s *Server) update(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
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
	data, err := readBody(r)
	if err != nil {
		fail(err)
		return
	}
	obj, warnings, err := s.decodeObject(res, r.Header.Get("Content-Type"), data, opts.validation)
	if err != nil {
		fail(err)
		return
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		fail(apierrors.NewBadRequest(err.Error()))
		return
	}
	if m.GetName() != ri.Name {
		fail(apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), ri.Name)))
		return
	}
	if err := checkNamespace(res, m, ri.Namespace); err != nil {
		fail(err)
		return
	}
	out, err := s.updateWith(r.Context(), res, ri, opts, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		fail(err)
		return
	}
	addWarnings(w, append(warnings, warning.From(r.Context())...))
	s.writeObject(w, r, res, mt, http.StatusOK, out)
}

// errDryRun carries the would-be result of a dry-run write out of a storage update.
type errDryRun struct{ obj runtime.Object }

func (e *errDryRun) Error() string { return "dry run" }

// updateWith updates one object: next computes the requested state from the current
// served object, then the strategy prepares, defaults and validates it against the
// current one. An object left with a deletionTimestamp, no finalizers and no grace period
// is deleted. It returns the result in served form.
func (s *Server) updateWith(ctx context.Context, res *resource, ri requestInfo, opts writeOptions, next func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	ctx = dryrun.With(ctx, opts.dryRun)
	key := res.key(ri.Namespace, ri.Name)
	done := s.metrics.etcdTimer("update", res.info.Resource)
	stored, err := s.cfg.Store.Update(ctx, key, res.newStored, func(cur runtime.Object) (runtime.Object, error) {
		curExt, err := res.toExternal(cur)
		if err != nil {
			return nil, err
		}
		obj, err := next(curExt.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		fieldsOf := ri.Subresource
		if opts.fieldsOf != "" {
			fieldsOf = opts.fieldsOf
		}
		if obj, err = s.recordFields(res, fieldsOf, curExt, obj, opts); err != nil {
			return nil, err
		}
		if err := s.prepareUpdate(ctx, res, ri.Subresource, obj, curExt); err != nil {
			return nil, err
		}
		if opts.dryRun {
			return nil, &errDryRun{obj: obj}
		}
		return res.toStored(obj)
	})
	done()
	var dry *errDryRun
	if errors.As(err, &dry) {
		return dry.obj, nil
	}
	if err != nil {
		return nil, err
	}
	if deletable(res, stored) {
		// The last finalizer is gone: the object goes, unless it changed meanwhile so
		// that it must stay.
		deleted, err := s.cfg.Store.Delete(ctx, key, res.newStored, func(cur runtime.Object) error {
			if !deletable(res, cur) {
				return errStaysNow
			}
			return nil
		})
		switch {
		case err == nil:
			stored = deleted
		case errors.Is(err, errStaysNow), errors.Is(err, storage.ErrNotFound):
		default:
			return nil, err
		}
	}
	return res.toExternal(stored)
}

// deletable reports whether a stored object being deleted has nothing left to wait for:
// no finalizers, no grace period, and nothing the strategy holds it for.
func deletable(res *resource, stored runtime.Object) bool {
	m, err := meta.Accessor(stored)
	if err != nil || m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g != 0 {
		return false
	}
	return !held(res, stored)
}

// held reports whether the strategy keeps a stored object that is being deleted.
func held(res *resource, stored runtime.Object) bool {
	term, ok := res.strategy.(registry.Terminator)
	if !ok {
		return false
	}
	ext, err := res.toExternal(stored)
	return err == nil && term.Held(ext)
}

// prepareUpdate makes obj the next state of cur: it carries over what the server owns,
// lets the strategy prepare and default it, and validates it.
func (s *Server) prepareUpdate(ctx context.Context, res *resource, subresource string, obj, cur runtime.Object) error {
	nm, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	cm, _ := meta.Accessor(cur)
	if rv := nm.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
		return apierrors.NewConflict(res.groupResource(), cm.GetName(), errors.New(conflictMessage))
	}
	if uid := nm.GetUID(); uid != "" && uid != cm.GetUID() {
		return apierrors.NewConflict(res.groupResource(), cm.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, cm.GetUID()))
	}
	nm.SetUID(cm.GetUID())
	nm.SetResourceVersion(cm.GetResourceVersion())
	nm.SetCreationTimestamp(cm.GetCreationTimestamp())
	nm.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	nm.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	nm.SetGeneration(cm.GetGeneration())
	nm.SetSelfLink("")
	sw, _ := res.strategy.(registry.SubresourceWriter)
	switch {
	case subresource == "status":
		if _, ok := res.strategy.(registry.StatusMetadataWriter); !ok {
			metav1.ResetObjectMetaForStatus(nm, cm)
		}
		res.strategy.PrepareForStatusUpdate(obj, cur)
	case subresource != "" && sw != nil:
		sw.PrepareForSubresourceUpdate(subresource, obj, cur)
	default:
		res.strategy.PrepareForUpdate(obj, cur)
		if res.admit != nil {
			if err := res.admit.AdmitUpdate(ctx, obj, cur); err != nil {
				return err
			}
		}
	}
	res.strategy.Default(obj)
	path := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMetaAccessor(nm, res.info.Namespaced, res.strategy.ValidateName, path)
	errs = append(errs, apivalidation.ValidateObjectMetaAccessorUpdate(nm, cm, path)...)
	if cm.GetDeletionTimestamp() != nil {
		errs = append(errs, apivalidation.ValidateNoNewFinalizers(nm.GetFinalizers(), cm.GetFinalizers(), path.Child("finalizers"))...)
	}
	switch {
	case subresource == "status":
		errs = append(errs, res.strategy.ValidateStatusUpdate(obj, cur)...)
	case subresource != "" && sw != nil:
		errs = append(errs, sw.ValidateSubresourceUpdate(subresource, obj, cur)...)
	default:
		errs = append(errs, res.strategy.ValidateUpdate(obj, cur)...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(res.info.GroupVersionKind().GroupKind(), nm.GetName(), errs)
	}
	if sa, ok := res.admit.(SubresourceAdmitter); ok && subresource != "" {
		return sa.AdmitSubresourceUpdate(ctx, subresource, obj, cur)
	}
	if va, ok := res.admit.(ValidatingAdmitter); ok && subresource == "" {
		return va.ValidateUpdate(ctx, obj, cur)
	}
	return nil
}
