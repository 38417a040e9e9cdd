package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/storage"
)

var errTooLarge = apierrors.NewRequestEntityTooLargeError("limit is 3145728")

// statusError turns any error into the API error a client gets.
func statusError(err error, gr schema.GroupResource, name string) apierrors.APIStatus {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return st
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.NewConflict(gr, name, errors.New(conflictMessage))
	case errors.As(err, new(*storage.ExpiredContinueError)):
		var expired *storage.ExpiredContinueError
		errors.As(err, &expired)
		st := apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. " +
			"You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. " +
			"Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
		st.ErrStatus.ListMeta.Continue = expired.Token
		return st
	case errors.Is(err, storage.ErrCompacted), errors.Is(err, storage.ErrGone):
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %v", err))
	case errors.Is(err, storage.ErrObjectTooLarge):
		return apierrors.NewRequestEntityTooLargeError(storage.ErrObjectTooLarge.Error())
	case errors.Is(err, storage.ErrBadContinue):
		return apierrors.NewBadRequest(err.Error())
	case errors.Is(err, storage.ErrTooLarge):
		st := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %v", err), 1)
		st.ErrStatus.Details = &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}}
		return st
	}
	return apierrors.NewInternalError(err)
}

const conflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

// writeError sends err as a metav1.Status in the encoding the client accepts.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, gr schema.GroupResource, name string) {
	st := statusError(err, gr, name).Status()
	st.Kind, st.APIVersion = "Status", "v1"
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	if code == http.StatusInternalServerError && !errors.Is(err, context.Canceled) {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	mt, ok := s.codecs.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		mt = mediaType{info: s.codecs.byType[mediaJSON]}
	}
	if st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
	}
	s.encode(w, mt, code, &st)
}

// encode writes obj, whose apiVersion and kind must be set, with status code.
func (s *Server) encode(w http.ResponseWriter, mt mediaType, code int, obj runtime.Object) {
	w.Header().Set("Content-Type", mt.info.MediaType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if err := mt.info.Serializer.Encode(obj, w); err != nil {
		s.log.Debug("writing response", "err", err)
	}
}

// withKind returns obj with its apiVersion and kind set; obj is copied if they were not,
// because objects may be shared with the watch cache.
func (s *Server) withKind(obj runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
	if obj.GetObjectKind().GroupVersionKind() == gvk {
		return obj
	}
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj
}

// kindOf returns the group, version and kind the scheme knows obj as.
func (s *Server) kindOf(obj runtime.Object) schema.GroupVersionKind {
	gvks, _, err := s.cfg.Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return obj.GetObjectKind().GroupVersionKind()
	}
	return gvks[0]
}

// writeObject sends a served object in the negotiated form: itself, a Table, or its
// metadata.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, res *resource, mt mediaType, code int, obj runtime.Object) {
	switch mt.form {
	case formTable:
		s.encode(w, mt, code, s.table(r, res, mt, []runtime.Object{obj}, "", "", nil, true))
	case formMetadata:
		s.encode(w, mt, code, partialMetadata(obj, res))
	default:
		s.encode(w, mt, code, s.withKind(obj, res.info.GroupVersionKind()))
	}
}

// writeStatusSuccess sends a Status with status Success, as upstream does for
// subresources that create nothing (binding, eviction).
func (s *Server) writeStatusSuccess(w http.ResponseWriter, r *http.Request, code int) {
	mt, ok := s.codecs.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		mt = mediaType{info: s.codecs.byType[mediaJSON]}
	}
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: int32(code)}
	s.encode(w, mt, code, st)
}

func partialMetadata(obj runtime.Object, res *resource) *metav1.PartialObjectMetadata {
	m, err := meta.Accessor(obj)
	if err != nil {
		return &metav1.PartialObjectMetadata{}
	}
	p := meta.AsPartialObjectMetadata(m)
	p.APIVersion, p.Kind = "meta.k8s.io/v1", "PartialObjectMetadata"
	return p
}
