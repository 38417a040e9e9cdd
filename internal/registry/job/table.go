package job

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/podium/podium/internal/registry"
)

func (*strategy) Columns() []metav1.TableColumnDefinition {
	columns := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Status", Type: "string", Description: "Status of the job."},
		{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
		{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
		registry.AgeColumn(),
	}
	columns = append(columns, registry.ContainerColumns()...)
	return append(columns, metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]})
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	job := obj.(*batchv1.Job)
	names, images := registry.ContainerCells(job.Spec.Template.Spec.Containers)
	return []interface{}{
		job.Name,
		status(job),
		completions(job),
		runTime(job, now),
		registry.Since(job.CreationTimestamp.Time, now),
		names,
		images,
		metav1.FormatLabelSelector(job.Spec.Selector),
	}
}

// status names the Job's state the way kubectl shows it, the first of: Complete,
// Failed, Terminating (being deleted), Suspended, FailureTarget, SuccessCriteriaMet,
// Running.
func status(job *batchv1.Job) string {
	// Only the first condition of each type counts, as in upstream's printer.
	first := func(t batchv1.JobConditionType) bool {
		for _, c := range job.Status.Conditions {
			if c.Type == t {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	switch {
	case first(batchv1.JobComplete):
		return "Complete"
	case first(batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case first(batchv1.JobSuspended):
		return "Suspended"
	case first(batchv1.JobFailureTarget):
		return "FailureTarget"
	case first(batchv1.JobSuccessCriteriaMet):
		return "SuccessCriteriaMet"
	}
	return "Running"
}

// completions renders succeeded/wanted: "2/3", or for a Job without completions
// "0/1", or "0/1 of 4" when several pods run in parallel.
func completions(job *batchv1.Job) string {
	succeeded := job.Status.Succeeded
	if c := job.Spec.Completions; c != nil {
		return fmt.Sprintf("%d/%d", succeeded, *c)
	}
	if p := job.Spec.Parallelism; p != nil && *p > 1 {
		return fmt.Sprintf("%d/1 of %d", succeeded, *p)
	}
	return fmt.Sprintf("%d/1", succeeded)
}

// runTime is how long the Job has run: until its completion, or until now; empty
// before it starts.
func runTime(job *batchv1.Job, now time.Time) string {
	switch st := job.Status; {
	case st.StartTime == nil:
		return ""
	case st.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(st.StartTime.Time))
	default:
		return duration.HumanDuration(st.CompletionTime.Sub(st.StartTime.Time))
	}
}
