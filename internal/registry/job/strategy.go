package job

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy           = (*strategy)(nil)
	_ registry.DependentsOrphaner = (*strategy)(nil)
)

type strategy struct{}

// New returns the Job strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        batchv1.GroupName,
		Version:      "v1",
		Kind:         "Job",
		ListKind:     "JobList",
		Resource:     "jobs",
		Singular:     "job",
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

// OrphansDependentsByDefault is true: deleting a batch/v1 Job without a propagation
// policy leaves its pods, as upstream keeps for compatibility.
func (*strategy) OrphansDependentsByDefault() bool { return true }

func (*strategy) New() runtime.Object     { return &batchv1.Job{} }
func (*strategy) NewList() runtime.Object { return &batchv1.JobList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate clears the status, starts the generation at 1, drops spec.scheduling
// (upstream's WorkloadWithJob feature is off) and, unless spec.manualSelector is true,
// generates the selector and pod labels from the Job's name and UID. The UID must
// already be set.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	job := obj.(*batchv1.Job)
	job.Status = batchv1.JobStatus{}
	job.Generation = 1
	job.Spec.Scheduling = nil
	if !ptr.Deref(job.Spec.ManualSelector, false) {
		generateSelector(job)
	}
}

// PrepareForUpdate keeps the stored status, keeps spec.scheduling out unless the stored
// Job has it, and bumps the generation when the defaulted spec differs from the stored.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	job, oldJob := obj.(*batchv1.Job), old.(*batchv1.Job)
	job.Status = oldJob.Status
	if oldJob.Spec.Scheduling == nil {
		job.Spec.Scheduling = nil
	}
	defaulted := job.DeepCopy()
	setDefaults(defaulted)
	if !equality.Semantic.DeepEqual(defaulted.Spec, oldJob.Spec) {
		job.Generation = oldJob.Generation + 1
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*batchv1.Job).Spec = old.(*batchv1.Job).Spec
}

func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*batchv1.Job)) }

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateCreate(obj.(*batchv1.Job))
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatusUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
}

// Fields adds status.successful (the count of succeeded pods) to the metadata fields,
// as upstream does.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, true)
	set["status.successful"] = strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))
	return set
}
