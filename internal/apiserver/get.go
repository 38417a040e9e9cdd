package apiserver

import (
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// get serves GET of one object (or its status).
func (s *Server) get(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, ri.Subresource == "")
	if !ok {
		return
	}
	obj := res.newStored()
	done := s.metrics.etcdTimer("get", res.info.Resource)
	err := s.cfg.Store.Get(r.Context(), res.key(ri.Namespace, ri.Name), obj)
	done()
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), ri.Name)
		return
	}
	ext, err := res.toExternal(obj)
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), ri.Name)
		return
	}
	s.writeObject(w, r, res, mt, http.StatusOK, ext)
}

// negotiate picks the response encoding or answers 406.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request, res *resource, allowForms bool) (mediaType, bool) {
	accept := r.Header.Get("Accept")
	if res.custom {
		accept = textOnly(accept)
	}
	mt, ok := s.codecs.negotiate(accept, allowForms)
	if !ok {
		types := s.codecs.mediaTypes()
		if res.custom {
			types = []string{mediaJSON, mediaYAML}
		}
		err := apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
			"only the following media types are accepted: "+strings.Join(types, ", "), 0, false)
		s.writeError(w, r, err, res.groupResource(), "")
	}
	return mt, ok
}
