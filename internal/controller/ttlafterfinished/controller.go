package ttlafterfinished

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many Jobs are looked at in parallel, as upstream's default.
const workers = 5

// Controller is the TTL-after-finished controller.
type Controller struct {
	client kubernetes.Interface
	jobs   batchlisters.JobLister
	loop   *reconcile.Loop
	clock  clock.Clock
	log    *slog.Logger
}

// New returns the controller; factory's Job informer must be started by the caller,
// and Run called once it has synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	return newController(client, factory, clock.RealClock{}, log)
}

func newController(client kubernetes.Interface, factory informers.SharedInformerFactory, clk clock.Clock, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, clock: clk, log: log.With("controller", "ttl-after-finished")}
	c.loop = reconcile.New("ttl-after-finished", c.sync, log)
	inf := factory.Batch().V1().Jobs()
	c.jobs = inf.Lister()
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.jobChanged,
		UpdateFunc: func(_, obj any) { c.jobChanged(obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run deletes expired Jobs until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.loop.Run(ctx, workers) }

func (c *Controller) jobChanged(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok || job.DeletionTimestamp != nil || !needsCleanup(job) {
		return
	}
	c.loop.Add(job.Namespace + "/" + job.Name)
}

// sync deletes the Job key if it has expired; otherwise it returns how long until
// it does.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	job, err := c.jobs.Jobs(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if left, err := c.timeLeft(job); err != nil || left > 0 || !needsCleanup(job) {
		return left, err
	}
	// The cached Job may be stale: its TTL may have been changed or its finish undone
	// by a recreation. Decide again on a fresh copy.
	fresh, err := c.client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if left, err := c.timeLeft(fresh); err != nil || left > 0 || !needsCleanup(fresh) {
		return left, err
	}
	c.log.Info("deleting finished Job past its TTL", "job", key)
	err = c.client.BatchV1().Jobs(namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return 0, nil // gone, or another Job now has the name
	}
	return 0, err
}

// timeLeft is how long until a finished Job with a TTL expires (0 or less: it has);
// 0 for Jobs that need no clean-up.
func (c *Controller) timeLeft(job *batchv1.Job) (time.Duration, error) {
	if !needsCleanup(job) {
		return 0, nil
	}
	at, err := finishTime(job)
	if err != nil {
		return 0, err
	}
	now := c.clock.Now()
	if at.After(now) {
		c.log.Warn("Job finished in the future: the clocks disagree", "job", job.Namespace+"/"+job.Name, "finished", at)
	}
	left := at.Add(time.Duration(*job.Spec.TTLSecondsAfterFinished) * time.Second).Sub(now)
	return max(left, 0), nil
}

// needsCleanup reports whether job is finished and has a TTL.
func needsCleanup(job *batchv1.Job) bool {
	return job.Spec.TTLSecondsAfterFinished != nil && finishCondition(job) != nil
}

func finishCondition(job *batchv1.Job) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// finishTime is when job finished: its terminal condition's lastTransitionTime.
func finishTime(job *batchv1.Job) (time.Time, error) {
	c := finishCondition(job)
	if c == nil || c.LastTransitionTime.IsZero() {
		return time.Time{}, fmt.Errorf("job %s/%s: no time it finished", job.Namespace, job.Name)
	}
	return c.LastTransitionTime.Time, nil
}
