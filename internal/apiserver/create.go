package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/dryrun"
	"github.com/podium/podium/internal/storage"
	"github.com/podium/podium/internal/warning"
)

// generateNameTries bounds the retries when a generated name is taken.
const generateNameTries = 8

// create serves POST of a new object.
func (s *Server) create(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, false)
	if !ok {
		return
	}
	fail := func(err error, name string) { s.writeError(w, r, err, res.groupResource(), name) }
	if res.terminating {
		fail(terminatingError(res), "")
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil {
		fail(err, "")
		return
	}
	data, err := readBody(r)
	if err != nil {
		fail(err, "")
		return
	}
	obj, warnings, err := s.decodeObject(res, r.Header.Get("Content-Type"), data, opts.validation)
	if err != nil {
		fail(err, "")
		return
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		fail(apierrors.NewBadRequest(err.Error()), "")
		return
	}
	if err := checkNamespace(res, m, ri.Namespace); err != nil {
		fail(err, m.GetName())
		return
	}
	if u := userFrom(r.Context()); u != nil {
		if ok, why := auth.CheckCreate(u, auth.Attributes{Verb: "create", Group: ri.Group, Resource: ri.Resource}, m.GetName()); !ok {
			fail(apierrors.NewForbidden(res.groupResource(), m.GetName(), errors.New(why)), m.GetName())
			return
		}
	}
	if res.info.Namespaced {
		if err := s.namespaceExists(r.Context(), m.GetNamespace(), res.groupResource(), m.GetName()); err != nil {
			fail(err, m.GetName())
			return
		}
	}
	if obj, err = s.recordFields(res, "", res.strategy.New(), obj, opts); err != nil {
		fail(err, m.GetName())
		return
	}
	generated := m.GetName() == "" && m.GetGenerateName() != ""
	for try := 0; ; try++ {
		next := obj
		if generated {
			next = obj.DeepCopyObject()
			nm, _ := meta.Accessor(next)
			nm.SetName(generateName(m.GetGenerateName()))
		}
		stored, err := s.createOne(r.Context(), res, next, opts)
		if generated && try < generateNameTries && errors.Is(err, storage.ErrExists) {
			continue
		}
		if err != nil {
			nm, _ := meta.Accessor(next)
			fail(err, nm.GetName())
			return
		}
		addWarnings(w, append(warnings, warning.From(r.Context())...))
		s.writeObject(w, r, res, mt, http.StatusCreated, stored)
		return
	}
}

// generateName appends five random characters to base, cut so the name stays within 63.
func generateName(base string) string {
	const maxBase = 63 - 5
	if len(base) > maxBase {
		base = base[:maxBase]
	}
	return base + rand.String(5)
}

// createOne prepares, validates and stores one new object, and returns it as stored
// (or as it would be, on a dry run).
func (s *Server) createOne(ctx context.Context, res *resource, obj runtime.Object, opts writeOptions) (runtime.Object, error) {
	ctx = dryrun.With(ctx, opts.dryRun)
	m, _ := meta.Accessor(obj)
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(s.clock.Now()))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	res.strategy.PrepareForCreate(obj)
	if res.admit != nil {
		if err := res.admit.AdmitCreate(ctx, obj); err != nil {
			return nil, err
		}
	}
	res.strategy.Default(obj)
	errs := apivalidation.ValidateObjectMetaAccessor(m, res.info.Namespaced, res.strategy.ValidateName, field.NewPath("metadata"))
	errs = append(errs, res.strategy.Validate(obj)...)
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(res.info.GroupVersionKind().GroupKind(), m.GetName(), errs)
	}
	if va, ok := res.admit.(ValidatingAdmitter); ok {
		if err := va.ValidateCreate(ctx, obj); err != nil {
			return nil, err
		}
	}
	stored, err := res.toStored(obj)
	if err != nil {
		return nil, err
	}
	if opts.dryRun {
		return obj, nil
	}
	done := s.metrics.etcdTimer("create", res.info.Resource)
	err = s.cfg.Store.Create(ctx, res.key(m.GetNamespace(), m.GetName()), stored)
	done()
	if err != nil {
		return nil, err
	}
	return res.toExternal(stored)
}

// checkNamespace fills a namespaced object's namespace from the URL and refuses one that
// names another; cluster-scoped objects lose any namespace they carry.
func checkNamespace(res *resource, m metav1.Object, urlNamespace string) error {
	if !res.info.Namespaced {
		m.SetNamespace("")
		return nil
	}
	switch m.GetNamespace() {
	case "":
		m.SetNamespace(urlNamespace)
	case urlNamespace:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// namespaceExists refuses writes into a namespace that does not exist, or that is
// being deleted.
func (s *Server) namespaceExists(ctx context.Context, name string, gr schema.GroupResource, objName string) error {
	key := storage.Key("namespaces", "", name)
	var obj runtime.Object
	if c := s.caches["namespaces"]; c != nil {
		obj, _ = c.Get(key)
	}
	if obj == nil {
		res := s.resourceFor(schema.GroupResource{Resource: "namespaces"})
		if res == nil {
			return nil
		}
		obj = res.newStored()
		err := s.cfg.Store.Get(ctx, key, obj)
		if errors.Is(err, storage.ErrNotFound) {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
		}
		if err != nil {
			return err
		}
	}
	if m, err := meta.Accessor(obj); err == nil && m.GetDeletionTimestamp() != nil {
		msg := fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", name)
		st := apierrors.NewForbidden(gr, objName, errors.New(msg))
		st.ErrStatus.Details.Causes = append(st.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: msg, Field: "metadata.namespace"})
		return st
	}
	return nil
}
