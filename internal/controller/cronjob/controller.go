package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // spec.timeZone is read against the same zone database as validation's

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many CronJobs are synced in parallel, as upstream's default.
const workers = 5

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	loop     *reconcile.Loop
	clock    clock.Clock
	// local is the zone of schedules without spec.timeZone.
	local       *time.Location
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the CronJob controller; factory's informers (CronJobs and Jobs) must be
// started by the caller, and Run called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, clock: clock.RealClock{}, local: time.Local, log: log.With("controller", "cronjob")}
	c.loop = reconcile.New("cronjob", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "cronjob-controller"})
	cjInf, jobInf := factory.Batch().V1().CronJobs(), factory.Batch().V1().Jobs()
	c.cronJobs, c.jobs = cjInf.Lister(), jobInf.Lister()
	if _, err := cjInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.cronJobUpdated,
		DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, err
	}
	// A Job's change is its owning CronJob's.
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueOwner,
		UpdateFunc: func(old, cur any) {
			if old.(*batchv1.Job).ResourceVersion == cur.(*batchv1.Job).ResourceVersion {
				return
			}
			c.enqueueOwner(old)
			c.enqueueOwner(cur)
		},
		DeleteFunc: c.enqueueOwner,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs CronJobs until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	c.loop.Run(ctx, workers)
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.loop.Add(key)
	}
}

func (c *Controller) enqueueOwner(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(job); ref != nil && ref.Kind == controllerKind.Kind && strings.HasPrefix(ref.APIVersion, batchv1.GroupName+"/") {
		c.loop.Add(job.Namespace + "/" + ref.Name)
	}
}

// cronJobUpdated looks at a CronJob again at once, except when its schedule or zone
// changed: then at the next start of the new schedule.
func (c *Controller) cronJobUpdated(old, cur any) {
	oldCJ, curCJ := old.(*batchv1.CronJob), cur.(*batchv1.CronJob)
	if oldCJ.Spec.Schedule == curCJ.Spec.Schedule && ptr.Equal(oldCJ.Spec.TimeZone, curCJ.Spec.TimeZone) {
		c.enqueue(cur)
		return
	}
	if tz := curCJ.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			c.enqueue(cur) // the sync reports the zone
			return
		}
	}
	s, err := parseSchedule(curCJ, c.local)
	if err != nil {
		c.recorder.Eventf(curCJ, corev1.EventTypeWarning, "UnParseableCronJobSchedule", "unparseable schedule for cronjob: %s", curCJ.Spec.Schedule)
		return
	}
	if d := requeueAfter(curCJ, s, c.clock.Now()); d > 0 {
		c.loop.AddAfter(curCJ.Namespace+"/"+curCJ.Name, d)
	}
}

// sync brings one CronJob's Jobs and status up to date and returns when to look at it
// again.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := c.cronJobs.CronJobs(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	jobs, err := c.ownedJobs(cached)
	if err != nil {
		return 0, err
	}
	cj := cached.DeepCopy()
	if c.activeUnlisted(cj, jobs) {
		// The cache may not yet show the status that listed this Job; the API does.
		fresh, err := c.client.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		cj = fresh
	}
	before := cj.Status.DeepCopy()
	c.pruneHistory(ctx, cj, jobs)
	again, syncErr := c.reconcile(ctx, cj, jobs)
	if !equality.Semantic.DeepEqual(before, &cj.Status) {
		if _, err := c.client.BatchV1().CronJobs(namespace).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return 0, fmt.Errorf("cronjob %s status: %w", key, err)
		}
	}
	return again, syncErr
}

// ownedJobs returns the Jobs whose controller reference is cj.
func (c *Controller) ownedJobs(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	all, err := c.jobs.Jobs(cj.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(j *batchv1.Job) bool {
		ref := metav1.GetControllerOf(j)
		return ref == nil || ref.UID != cj.UID
	}), nil
}

// activeUnlisted reports a running Job of cj's that its status.active lacks.
func (c *Controller) activeUnlisted(cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	return slices.ContainsFunc(jobs, func(j *batchv1.Job) bool { return finishedAs(j) == "" && !isActive(cj, j.UID) })
}

// reconcile updates cj's status from its Jobs and starts the Job its schedule asks
// for now. It returns when cj is next due (0: not until it changes).
func (c *Controller) reconcile(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (time.Duration, error) {
	now := c.clock.Now()
	if err := c.trackJobs(ctx, cj, jobs); err != nil {
		return 0, err
	}
	if cj.DeletionTimestamp != nil {
		return 0, nil
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return 0, nil
		}
	}
	if ptr.Deref(cj.Spec.Suspend, false) {
		return 0, nil
	}
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnsupportedSchedule",
			"CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	}
	s, err := parseSchedule(cj, c.local)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, nil
	}
	d, err := dueAt(cj, s, now)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return 0, nil
	}
	again := requeueAfter(cj, s, now)
	if d.tooMany {
		c.recorder.Event(cj, corev1.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	switch {
	case !d.missed.IsZero():
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", d.missed.UTC().Format(time.RFC1123Z))
		return again, nil
	case d.start.IsZero():
		return again, nil
	case isActiveByName(cj, jobName(cj, d.start)) || (cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(d.start)):
		return again, nil
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Event(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return again, nil
		}
	case batchv1.ReplaceConcurrent:
		if err := c.replaceActive(ctx, cj); err != nil {
			return 0, err
		}
	}
	if err := c.start(ctx, cj, d.start); err != nil {
		return 0, err
	}
	return again, nil
}

// trackJobs brings status.active and status.lastSuccessfulTime up to date with cj's
// Jobs: finished Jobs leave the list, and so do Jobs the API no longer has.
func (c *Controller) trackJobs(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) error {
	listed := map[types.UID]bool{}
	for _, j := range jobs {
		listed[j.UID] = true
		finished, active := finishedAs(j), isActive(cj, j.UID)
		switch {
		case finished == "" && !active:
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case finished != "" && active:
			removeActive(cj, j.UID)
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, finished)
		}
		if done := j.Status.CompletionTime; finished == batchv1.JobComplete && done != nil {
			if last := cj.Status.LastSuccessfulTime; last == nil || done.After(last.Time) {
				cj.Status.LastSuccessfulTime = done.DeepCopy()
			}
		}
	}
	for _, ref := range slices.Clone(cj.Status.Active) {
		if listed[ref.UID] {
			continue
		}
		// Not in the cache; ask the API before calling it gone.
		j, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) || (err == nil && j.UID != ref.UID):
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			removeActive(cj, ref.UID)
		case err != nil:
			return fmt.Errorf("job %s/%s: %w", ref.Namespace, ref.Name, err)
		}
	}
	return nil
}

// pruneHistory deletes cj's finished Jobs beyond its history limits. Failures are
// reported as events and retried at the next sync.
func (c *Controller) pruneHistory(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) {
	for _, j := range surplus(cj, jobs) {
		_ = c.deleteJob(ctx, cj, j.Name, j.UID)
	}
}

// replaceActive deletes cj's running Jobs.
func (c *Controller) replaceActive(ctx context.Context, cj *batchv1.CronJob) error {
	for _, ref := range slices.Clone(cj.Status.Active) {
		if _, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err != nil && !apierrors.IsNotFound(err) {
			c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedGet", "Get job: %v", err)
			return err
		}
		if err := c.deleteJob(ctx, cj, ref.Name, ref.UID); err != nil {
			return fmt.Errorf("could not replace job %s/%s: %w", ref.Namespace, ref.Name, err)
		}
	}
	return nil
}

// deleteJob deletes one of cj's Jobs with background propagation (its pods go after
// it) and takes it out of status.active. A Job already gone counts as deleted.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, name string, uid types.UID) error {
	err := c.client.BatchV1().Jobs(cj.Namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
	})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return err
	default:
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	}
	removeActive(cj, uid)
	return nil
}

// start creates cj's Job for the start at t and records it in status. A Job of that
// name that cj already controls is taken as this start's, made by an earlier attempt
// whose status update was lost; one it does not control is left alone.
func (c *Controller) start(ctx context.Context, cj *batchv1.CronJob, t time.Time) error {
	job, err := newJob(cj, t)
	if err != nil {
		return err
	}
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return err
	case apierrors.IsAlreadyExists(err):
		existing, err := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !metav1.IsControlledBy(existing, cj) || isActive(cj, existing.UID) {
			return nil
		}
		c.log.Info("job already exists", "cronjob", cj.Namespace+"/"+cj.Name, "job", job.Name)
		created = existing
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return err
	default:
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	}
	cj.Status.Active = append(cj.Status.Active, jobRef(created))
	cj.Status.LastScheduleTime = &metav1.Time{Time: t}
	return nil
}
