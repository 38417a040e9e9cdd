package apiserver

import (
	"errors"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podium/podium/internal/storage"
)

// list serves a LIST. Reads at "any" or "not older than" a resourceVersion are served
// from the watch cache; an unspecified resourceVersion is a consistent read, served from
// the cache once it has caught up with etcd's current revision; Exact reads and pages
// after the first go to etcd at the recorded revision.
func (s *Server) list(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, true)
	if !ok {
		return
	}
	q := r.URL.Query()
	filter, err := filterFor(res, q, "")
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}
	var limit int64
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil || limit < 0 {
			s.writeError(w, r, apierrors.NewBadRequest("invalid limit: "+l), res.groupResource(), "")
			return
		}
	}
	rvParam, match, cont := q.Get("resourceVersion"), metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")), q.Get("continue")
	rv, err := storage.ParseRV(rvParam)
	if err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()), res.groupResource(), "")
		return
	}
	switch {
	case cont != "" && rvParam != "" && rvParam != "0":
		err = apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	case match != "" && match != metav1.ResourceVersionMatchExact && match != metav1.ResourceVersionMatchNotOlderThan:
		err = apierrors.NewBadRequest("unsupported resourceVersionMatch: " + string(match))
	case match != "" && rvParam == "":
		err = apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	case match == metav1.ResourceVersionMatchExact && rv == 0:
		err = apierrors.NewBadRequest("resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"")
	}
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}

	var result storage.ListResult
	prefix := res.prefix(ri.Namespace)
	fromEtcd := cont != "" || match == metav1.ResourceVersionMatchExact || (rv > 0 && match == "" && limit > 0)
	if fromEtcd {
		done := s.metrics.etcdTimer("list", res.info.Resource)
		result, err = s.cfg.Store.List(r.Context(), prefix, storage.ListOptions{Revision: rv, Limit: limit, Continue: cont, Filter: filter}, res.newStored)
		done()
	} else {
		minRev := rv
		if rvParam == "" {
			if minRev, err = s.cfg.Store.Revision(r.Context()); err != nil {
				s.writeError(w, r, err, res.groupResource(), "")
				return
			}
		}
		result, err = s.listCache(r, res, prefix, minRev, limit, filter)
		if rvParam == "" && errors.Is(err, storage.ErrTooLarge) {
			// The cache lags behind etcd (a relist, a slow watch): read etcd itself.
			done := s.metrics.etcdTimer("list", res.info.Resource)
			result, err = s.cfg.Store.List(r.Context(), prefix, storage.ListOptions{Limit: limit, Filter: filter}, res.newStored)
			done()
		}
	}
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}
	items := make([]runtime.Object, 0, len(result.Items))
	for _, obj := range result.Items {
		ext, err := res.toExternal(obj)
		if err != nil {
			s.writeError(w, r, err, res.groupResource(), "")
			return
		}
		items = append(items, ext)
	}
	rvOut := strconv.FormatInt(result.Revision, 10)
	switch mt.form {
	case formTable:
		s.encode(w, mt, http.StatusOK, s.table(r, res, mt, items, rvOut, result.Continue, result.Remaining, true))
		return
	case formMetadata:
		pl := &metav1.PartialObjectMetadataList{}
		pl.APIVersion, pl.Kind = "meta.k8s.io/v1", "PartialObjectMetadataList"
		pl.ResourceVersion, pl.Continue, pl.RemainingItemCount = rvOut, result.Continue, result.Remaining
		for _, obj := range items {
			pl.Items = append(pl.Items, *partialMetadata(obj, res))
		}
		s.encode(w, mt, http.StatusOK, pl)
		return
	}
	list := res.strategy.NewList()
	if err := meta.SetList(list, items); err != nil {
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}
	la, _ := meta.ListAccessor(list)
	la.SetResourceVersion(rvOut)
	la.SetContinue(result.Continue)
	la.SetRemainingItemCount(result.Remaining)
	list.GetObjectKind().SetGroupVersionKind(res.info.GroupVersion().WithKind(res.info.ListKind))
	s.encode(w, mt, http.StatusOK, list)
}

// listCache serves a list from the watch cache, once it reflects minRev. A limit cuts the
// list and gives a continue token that reads the rest from etcd at the same revision.
func (s *Server) listCache(r *http.Request, res *resource, prefix string, minRev, limit int64, filter func(runtime.Object) bool) (storage.ListResult, error) {
	items, rev, err := res.cache.List(r.Context(), prefix, minRev, filter)
	if err != nil {
		return storage.ListResult{}, err
	}
	result := storage.ListResult{Items: items, Revision: rev}
	if limit > 0 && int64(len(items)) > limit {
		last := items[limit-1]
		m, err := meta.Accessor(last)
		if err != nil {
			return storage.ListResult{}, err
		}
		result.Items = items[:limit]
		result.Continue = storage.ContinueToken(rev, res.key(m.GetNamespace(), m.GetName()), prefix)
		if filter == nil {
			left := int64(len(items)) - limit
			result.Remaining = &left
		}
	}
	return result, nil
}
