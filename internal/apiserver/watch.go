package apiserver

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podium/podium/internal/storage"
)

// defaultWatchTimeout ends a watch that gave no timeoutSeconds; clients reconnect.
const defaultWatchTimeout = 30 * time.Minute

// watch serves a WATCH from the resource's cache as a stream of WatchEvents, framed as
// the negotiated encoding frames them.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, true)
	if !ok {
		return
	}
	if mt.info.StreamSerializer == nil {
		err := apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "watch", res.groupResource(), "",
			"watches are served as application/json or application/vnd.kubernetes.protobuf, not "+mt.info.MediaType, 0, false)
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}
	q := r.URL.Query()
	filter, err := filterFor(res, q, ri.Name)
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}
	rv, err := storage.ParseRV(q.Get("resourceVersion"))
	if err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()), res.groupResource(), "")
		return
	}
	opts := storage.WatchOptions{
		Prefix:    res.prefix(ri.Namespace),
		Revision:  rv,
		Bookmarks: isTrue(q.Get("allowWatchBookmarks")),
		Filter:    filter,
	}
	if q.Get("resourceVersion") == "" {
		// Unset means "most recent": the start must reflect etcd's current revision.
		if opts.MinRevision, err = s.cfg.Store.Revision(r.Context()); err != nil {
			s.writeError(w, r, err, res.groupResource(), "")
			return
		}
	}
	if sie := q.Get("sendInitialEvents"); sie != "" {
		opts.InitialEvents = isTrue(sie)
		opts.SkipInitial = !opts.InitialEvents
		var errs field.ErrorList
		if q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan) {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
		}
		if opts.InitialEvents && !opts.Bookmarks {
			errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true"))
		}
		if len(errs) > 0 {
			s.writeError(w, r, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", errs), res.groupResource(), "")
			return
		}
	}
	timeout := defaultWatchTimeout
	if ts := q.Get("timeoutSeconds"); ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			s.writeError(w, r, apierrors.NewBadRequest("invalid timeoutSeconds: "+ts), res.groupResource(), "")
			return
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}

	wi, err := res.cache.Watch(r.Context(), opts)
	if err != nil {
		if errors.Is(err, storage.ErrGone) {
			err = apierrors.NewResourceExpired("too old resource version: " + strconv.FormatInt(rv, 10))
		}
		s.writeError(w, r, err, res.groupResource(), "")
		return
	}
	defer wi.Stop()
	s.metrics.watchers.WithLabelValues(res.info.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(res.info.Resource).Dec()

	stream := mt.info.StreamSerializer
	contentType := mt.info.MediaType
	if mt.info.MediaType == mediaProtobuf {
		contentType += ";stream=watch"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	// The write deadline bounds each write and is lifted between them: over HTTP/2 a
	// deadline left in place resets the stream when it passes, even with nothing to
	// write, which would end every watch that is quiet for that long.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WatchWriteTimeout))
	if rc.Flush() != nil {
		return
	}
	_ = rc.SetWriteDeadline(time.Time{})
	fw := stream.Framer.NewFrameWriter(w)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	first := true
	var buf bytes.Buffer
	for {
		select {
		case <-r.Context().Done():
			return
		case <-timer.C:
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			obj, err := s.watchObject(r, res, mt, ev, first)
			if err != nil {
				s.log.Warn("encoding watch event", "resource", res.info.Resource, "err", err)
				return
			}
			if ev.Type != watch.Bookmark {
				first = false
			}
			buf.Reset()
			if err := mt.info.Serializer.Encode(obj, &buf); err != nil {
				s.log.Warn("encoding watch event", "resource", res.info.Resource, "err", err)
				return
			}
			out := &metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: buf.Bytes()}}
			// A client that stops reading blocks the write; the deadline ends it, and with
			// it this watch.
			_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WatchWriteTimeout))
			if err := stream.Serializer.Encode(out, fw); err != nil {
				return
			}
			if len(wi.ResultChan()) == 0 {
				if rc.Flush() != nil {
					return
				}
				_ = rc.SetWriteDeadline(time.Time{})
			}
		}
	}
}

// watchObject shapes one event's object for the client: a bookmark as an empty object of
// the resource's kind carrying only the resourceVersion; otherwise the object, a
// one-row Table, or its metadata.
func (s *Server) watchObject(r *http.Request, res *resource, mt mediaType, ev watch.Event, first bool) (runtime.Object, error) {
	if b, ok := ev.Object.(*storage.Bookmark); ok {
		obj := res.strategy.New()
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, err
		}
		m.SetResourceVersion(strconv.FormatInt(b.Revision, 10))
		if b.InitialEventsEnd {
			m.SetAnnotations(map[string]string{storage.InitialEventsEndAnnotation: "true"})
		}
		obj.GetObjectKind().SetGroupVersionKind(res.info.GroupVersionKind())
		if mt.form == formMetadata {
			return partialMetadata(obj, res), nil
		}
		if mt.form == formTable {
			t := &metav1.Table{}
			t.APIVersion, t.Kind = "meta.k8s.io/"+mt.tableVersion, "Table"
			t.ResourceVersion = m.GetResourceVersion()
			return t, nil
		}
		return obj, nil
	}
	ext, err := res.toExternal(ev.Object)
	if err != nil {
		return nil, err
	}
	switch mt.form {
	case formTable:
		return s.table(r, res, mt, []runtime.Object{ext}, "", "", nil, first), nil
	case formMetadata:
		return partialMetadata(ext, res), nil
	}
	return s.withKind(ext, res.info.GroupVersionKind()), nil
}
