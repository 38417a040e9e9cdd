package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
)

func hasTrackingFinalizer(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

// finalizerExpectations records, per Job key, the pods whose tracking finalizer the
// controller removed and the watch has not yet shown without it. Such pods are
// counted already and must not be counted again from a stale cache.
type finalizerExpectations struct {
	mu sync.Mutex // guards m
	m  map[string]sets.Set[types.UID]
}

func newFinalizerExpectations() *finalizerExpectations {
	return &finalizerExpectations{m: map[string]sets.Set[types.UID]{}}
}

// expect records removals about to be issued for key.
func (e *finalizerExpectations) expect(key string, uids []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m[key] == nil {
		e.m[key] = sets.New[types.UID]()
	}
	e.m[key].Insert(uids...)
}

// observed drops uid from key's expected removals (seen, or not issued after all).
func (e *finalizerExpectations) observed(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.m[key]; s != nil {
		s.Delete(uid)
		if s.Len() == 0 {
			delete(e.m, key)
		}
	}
}

// pending returns a copy of key's expected removals.
func (e *finalizerExpectations) pending(key string) sets.Set[types.UID] {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[key].Clone()
}

func (e *finalizerExpectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}

// removeFinalizerPatch is the strategic merge patch that drops the tracking finalizer.
var removeFinalizerPatch = func() []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"$deleteFromPrimitiveList/finalizers": []string{batchv1.JobTrackingFinalizer},
	}})
	return b
}()

func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, removeFinalizerPatch, metav1.PatchOptions{})
	return err
}

// removeFinalizers removes the tracking finalizer from pods of the Job key, in
// parallel; done[i] says whether pods[i] has lost it (or is gone).
func (c *Controller) removeFinalizers(ctx context.Context, key string, pods []*corev1.Pod) ([]bool, error) {
	uids := make([]types.UID, len(pods))
	for i, p := range pods {
		uids[i] = p.UID
	}
	c.finalizers.expect(key, uids)
	done := make([]bool, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			err := c.removeFinalizer(ctx, p)
			if err != nil {
				c.finalizers.observed(key, p.UID) // no update of ours to wait for
				if !apierrors.IsNotFound(err) {
					errs[i] = fmt.Errorf("removing tracking finalizer of pod %s: %w", p.Name, err)
					return
				}
			}
			done[i] = true
		})
	}
	wg.Wait()
	return done, errors.Join(errs...)
}

// syncOrphan removes the tracking finalizer from a pod no Job will count any more:
// one without a controller, or whose Job is gone or finished. Pods of Jobs managed
// by another controller, and of other kinds of owners, are left alone.
func (c *Controller) syncOrphan(ctx context.Context, key string) (time.Duration, error) {
	return 0, c.orphan(ctx, key)
}

func (c *Controller) orphan(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !hasTrackingFinalizer(pod) {
		return nil
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if ref.Kind != jobKind.Kind || ref.APIVersion != jobKind.GroupVersion().String() {
			return nil
		}
		if job := c.owner(namespace, ref); job != nil && (managedElsewhere(job) || !finished(job)) {
			return nil
		}
	}
	if err := c.removeFinalizer(ctx, pod); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
