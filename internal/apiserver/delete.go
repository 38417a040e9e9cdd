package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/storage"
)

// errDeleteNow tells the delete flow that the object goes at once.
var errDeleteNow = errors.New("delete now")

// parseDeleteOptions reads DeleteOptions from the body, if any, and the query.
func (s *Server) parseDeleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		if err := s.decodeOptions(r.Header.Get("Content-Type"), data, opts); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid DeleteOptions: %v", err))
		}
	}
	q := r.URL.Query()
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest("invalid gracePeriodSeconds: " + g)
		}
		opts.GracePeriodSeconds = &n
	}
	if p := q.Get("propagationPolicy"); p != "" {
		pp := metav1.DeletionPropagation(p)
		opts.PropagationPolicy = &pp
	}
	opts.DryRun = append(opts.DryRun, q["dryRun"]...)
	if errs := metav1validation.ValidateDeleteOptions(opts); len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "DeleteOptions"}, "", errs)
	}
	return opts, nil
}

// decodeOptions decodes DeleteOptions sent as JSON or protobuf.
func (s *Server) decodeOptions(contentType string, data []byte, into *metav1.DeleteOptions) error {
	dec, _, err := s.codecs.decoderFor(contentType)
	if err != nil {
		return err
	}
	gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
	if _, _, err := dec.Decode(data, &gvk, into); err != nil {
		// Older clients send bare JSON without apiVersion and kind.
		if jerr := json.Unmarshal(data, into); jerr != nil {
			return err
		}
	}
	return nil
}

// delete serves DELETE of one object.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, false)
	if !ok {
		return
	}
	opts, err := s.parseDeleteOptions(r)
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), ri.Name)
		return
	}
	out, err := s.deleteOne(r.Context(), res, ri.Namespace, ri.Name, opts)
	if err != nil {
		s.writeError(w, r, err, res.groupResource(), ri.Name)
		return
	}
	s.writeObject(w, r, res, mt, http.StatusOK, out)
}

// deleteOne deletes an object as upstream does: an object the strategy deletes
// gracefully gets a deletionTimestamp and deletionGracePeriodSeconds and stays (a second
// delete may only shorten the grace period); an object with finalizers gets a
// deletionTimestamp and stays until they are removed; anything else goes at once. It
// returns the object in served form, as it is after the call.
func (s *Server) deleteOne(ctx context.Context, res *resource, namespace, name string, opts *metav1.DeleteOptions) (runtime.Object, error) {
	key := res.key(namespace, name)
	dryRun := len(opts.DryRun) > 0
	check := func(cur runtime.Object) error {
		m, _ := meta.Accessor(cur)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != m.GetUID() {
				return apierrors.NewConflict(res.groupResource(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
				return apierrors.NewConflict(res.groupResource(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
			}
		}
		return nil
	}
	if da, ok := res.admit.(DeleteAdmitter); ok {
		// Admission sees the object once, as it is before the delete (the watch
		// cache's, or the store's when the cache has not seen it yet).
		cur, ok := res.cache.Get(key)
		if ok {
			cur = cur.DeepCopyObject() // the cache's are shared
		} else {
			cur = res.newStored()
			if err := s.cfg.Store.Get(ctx, key, cur); err != nil {
				return nil, err
			}
		}
		ext, err := res.toExternal(cur)
		if err != nil {
			return nil, err
		}
		if err := da.AdmitDelete(ctx, ext, opts); err != nil {
			return nil, err
		}
	}
	done := s.metrics.etcdTimer("delete", res.info.Resource)
	defer done()
	for {
		var now runtime.Object // the object as it goes at once, when it does
		stored, err := s.cfg.Store.Update(ctx, key, res.newStored, func(cur runtime.Object) (runtime.Object, error) {
			if err := check(cur); err != nil {
				return nil, err
			}
			ext, err := res.toExternal(cur)
			if err != nil {
				return nil, err
			}
			if dc, ok := res.strategy.(registry.DeleteChecker); ok {
				if err := dc.CheckDelete(ext); err != nil {
					return nil, err
				}
			}
			next, stays := s.markDeleting(res, ext, opts)
			if !stays {
				now = ext
				return nil, errDeleteNow
			}
			if dryRun {
				return nil, &errDryRun{obj: next}
			}
			return res.toStored(next)
		})
		var dry *errDryRun
		switch {
		case errors.As(err, &dry):
			return dry.obj, nil
		case errors.Is(err, errDeleteNow):
			if dryRun {
				return now, nil
			}
			// Between the decision and the delete the object may have changed so that it
			// must now stay (a new finalizer, a binding): decide again on what is stored.
			deleted, err := s.cfg.Store.Delete(ctx, key, res.newStored, func(cur runtime.Object) error {
				if err := check(cur); err != nil {
					return err
				}
				ext, err := res.toExternal(cur)
				if err != nil {
					return err
				}
				if _, stays := s.markDeleting(res, ext, opts); stays {
					return errStaysNow
				}
				return nil
			})
			if errors.Is(err, errStaysNow) {
				continue
			}
			if err != nil {
				return nil, err
			}
			return res.toExternal(deleted)
		case err != nil:
			return nil, err
		}
		return res.toExternal(stored)
	}
}

// errStaysNow sends a delete back to marking when the object changed so that it stays.
var errStaysNow = errors.New("object must stay")

// markDeleting returns the object as a delete leaves it, and whether it stays: it stays
// when the strategy deletes it gracefully, when it has finalizers (the garbage
// collector's among them, which the propagation policy sets), or when the strategy
// holds it while terminating.
func (s *Server) markDeleting(res *resource, obj runtime.Object, opts *metav1.DeleteOptions) (runtime.Object, bool) {
	next := obj.DeepCopyObject()
	m, _ := meta.Accessor(next)
	now := s.clock.Now()
	orphanByDefault := false
	if o, ok := res.strategy.(registry.DependentsOrphaner); ok {
		orphanByDefault = o.OrphansDependentsByDefault()
	}
	finalizers, changed := gcFinalizers(m.GetFinalizers(), opts, orphanByDefault)
	if changed {
		m.SetFinalizers(finalizers)
	}
	if gd, ok := res.strategy.(registry.GracefulDeleter); ok {
		if grace, graceful := gd.CheckGracefulDelete(next, opts); graceful {
			deadline := now.Add(time.Duration(grace) * time.Second)
			if ts, cur := m.GetDeletionTimestamp(), m.GetDeletionGracePeriodSeconds(); ts != nil && cur != nil {
				if *cur <= grace {
					if changed {
						return next, true
					}
					return obj, true // already deleting, at least as soon
				}
				// A shorter grace period moves the deadline earlier by the difference.
				deadline = ts.Add(time.Duration(grace-*cur) * time.Second)
			}
			ts := metav1.NewTime(deadline)
			m.SetDeletionTimestamp(&ts)
			m.SetDeletionGracePeriodSeconds(&grace)
			m.SetGeneration(m.GetGeneration() + 1)
			return next, true
		}
	}
	term, _ := res.strategy.(registry.Terminator)
	if term != nil {
		term.Terminate(next)
	}
	if len(m.GetFinalizers()) > 0 || (term != nil && term.Held(next)) {
		force := opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds == 0
		if g := m.GetDeletionGracePeriodSeconds(); m.GetDeletionTimestamp() == nil || (force && (g == nil || *g != 0)) {
			ts := metav1.NewTime(now)
			zero := int64(0)
			m.SetDeletionTimestamp(&ts)
			m.SetDeletionGracePeriodSeconds(&zero)
			m.SetGeneration(m.GetGeneration() + 1)
		}
		return next, true
	}
	return nil, false
}

// gcFinalizers returns an object's finalizers as a delete with opts leaves them, and
// whether they changed, as upstream's registry decides: the propagation policy (or the
// older orphanDependents) picks the garbage collector's finalizer, orphan or
// foregroundDeletion; without either, a finalizer already there stands, and otherwise
// the resource's default (orphanByDefault) applies.
func gcFinalizers(cur []string, opts *metav1.DeleteOptions, orphanByDefault bool) ([]string, bool) {
	hasOrphan := slices.Contains(cur, metav1.FinalizerOrphanDependents)
	hasForeground := slices.Contains(cur, metav1.FinalizerDeleteDependents)
	orphan, foreground := hasOrphan, hasForeground
	switch {
	case opts != nil && opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	case opts != nil && opts.OrphanDependents != nil:
		orphan, foreground = *opts.OrphanDependents, false
	case !hasOrphan && !hasForeground:
		orphan = orphanByDefault
	}
	if orphan == hasOrphan && foreground == hasForeground {
		return cur, false
	}
	var out []string
	for _, f := range cur {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	return out, true
}

// deleteCollection serves DELETE of every object a selector picks.
func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	mt, ok := s.negotiate(w, r, res, false)
	if !ok {
		return
	}
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), "") }
	opts, err := s.parseDeleteOptions(r)
	if err != nil {
		fail(err)
		return
	}
	filter, err := filterFor(res, r.URL.Query(), "")
	if err != nil {
		fail(err)
		return
	}
	list, err := s.cfg.Store.List(r.Context(), res.prefix(ri.Namespace), storage.ListOptions{Filter: filter}, res.newStored)
	if err != nil {
		fail(err)
		return
	}
	var deleted []runtime.Object
	for _, obj := range list.Items {
		m, _ := meta.Accessor(obj)
		out, err := s.deleteOne(r.Context(), res, m.GetNamespace(), m.GetName(), opts)
		if errors.Is(err, storage.ErrNotFound) || apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			fail(err)
			return
		}
		deleted = append(deleted, out)
	}
	out := res.strategy.NewList()
	if err := meta.SetList(out, deleted); err != nil {
		fail(err)
		return
	}
	out.GetObjectKind().SetGroupVersionKind(res.info.GroupVersion().WithKind(res.info.ListKind))
	s.encode(w, mt, http.StatusOK, out)
}
