package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/registry/pod"
)

// decodeInto decodes a subresource request body (a Binding, an Eviction) into into.
func (s *Server) decodeInto(r *http.Request, into runtime.Object) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	_, strict, err := s.codecs.decoderFor(r.Header.Get("Content-Type"))
	if err != nil {
		return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "", err.Error(), 0, false)
	}
	out, _, err := strict.Decode(data, nil, into)
	if err != nil && !runtime.IsStrictDecodingError(err) {
		return apierrors.NewBadRequest(err.Error())
	}
	if out != into {
		return apierrors.NewBadRequest(fmt.Sprintf("expected a %T, got a %T", into, out))
	}
	return nil
}

// bind serves POST pods/NAME/binding: the scheduler's assignment of a pod to a node.
func (s *Server) bind(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	opts, err := parseWriteOptions(r)
	if err != nil {
		fail(err)
		return
	}
	b := &corev1.Binding{}
	if err := s.decodeInto(r, b); err != nil {
		fail(err)
		return
	}
	if b.Name != "" && b.Name != ri.Name {
		fail(apierrors.NewBadRequest(fmt.Sprintf("the name of the binding (%s) does not match the name of the pod (%s)", b.Name, ri.Name)))
		return
	}
	if b.Namespace != "" && b.Namespace != ri.Namespace {
		fail(apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	if b.Target.Name == "" || (b.Target.Kind != "" && b.Target.Kind != "Node") {
		fail(apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), ri.Name, nil))
		return
	}
	// A binding is not an update of the pod: it only sets what Bind sets, so it skips
	// the strategy's update rules, under which spec.nodeName is immutable.
	_, err = s.cfg.Store.Update(r.Context(), res.key(ri.Namespace, ri.Name), res.newStored, func(cur runtime.Object) (runtime.Object, error) {
		p, ok := cur.(*corev1.Pod)
		if !ok {
			return nil, fmt.Errorf("binding a %T", cur)
		}
		if b.UID != "" && b.UID != p.UID {
			return nil, apierrors.NewConflict(res.groupResource(), ri.Name,
				fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, p.UID))
		}
		if err := pod.Bind(p, b); err != nil {
			return nil, err
		}
		if opts.dryRun {
			return nil, &errDryRun{obj: p}
		}
		return p, nil
	})
	var dry *errDryRun
	if err != nil && !errors.As(err, &dry) {
		fail(err)
		return
	}
	s.writeStatusSuccess(w, r, http.StatusCreated)
}
