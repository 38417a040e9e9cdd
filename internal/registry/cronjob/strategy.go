package cronjob

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/job"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the CronJob strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        batchv1.GroupName,
		Version:      "v1",
		Kind:         "CronJob",
		ListKind:     "CronJobList",
		Resource:     "cronjobs",
		Singular:     "cronjob",
		ShortNames:   []string{"cj"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

func (*strategy) New() runtime.Object     { return &batchv1.CronJob{} }
func (*strategy) NewList() runtime.Object { return &batchv1.CronJobList{} }

// ValidateName takes DNS subdomain names. The tighter 52-character limit applies on
// create only and is checked by Validate, so that older, longer CronJobs stay
// updatable.
func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate clears the status, starts the generation at 1 and drops the job
// template's spec.scheduling (upstream's WorkloadWithJob feature is off).
func (*strategy) PrepareForCreate(obj runtime.Object) {
	cj := obj.(*batchv1.CronJob)
	cj.Status = batchv1.CronJobStatus{}
	cj.Generation = 1
	cj.Spec.JobTemplate.Spec.Scheduling = nil
}

// PrepareForUpdate keeps the stored status, keeps the template's spec.scheduling out
// unless the stored CronJob has it, and bumps the generation when the defaulted spec
// differs from the stored one.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	cj, oldCJ := obj.(*batchv1.CronJob), old.(*batchv1.CronJob)
	cj.Status = oldCJ.Status
	if oldCJ.Spec.JobTemplate.Spec.Scheduling == nil {
		cj.Spec.JobTemplate.Spec.Scheduling = nil
	}
	defaulted := cj.DeepCopy()
	setDefaults(defaulted)
	if !equality.Semantic.DeepEqual(defaulted.Spec, oldCJ.Spec) {
		cj.Generation = oldCJ.Generation + 1
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*batchv1.CronJob).Spec = old.(*batchv1.CronJob).Spec
}

func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*batchv1.CronJob)) }

// setDefaults applies upstream's batch/v1 CronJob defaults and its job template's.
func setDefaults(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptr.To[int32](3)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	}
	job.DefaultTemplate(&spec.JobTemplate)
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	cj := obj.(*batchv1.CronJob)
	errs := validateSpec(&cj.Spec, nil, field.NewPath("spec"))
	if len(cj.Name) > maxNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, "must be no more than 52 characters"))
	}
	return errs
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*batchv1.CronJob).Spec, &old.(*batchv1.CronJob).Spec, field.NewPath("spec"))
}

// ValidateStatusUpdate accepts any status, as upstream does.
func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	spec, status := batchv1.CronJobSpec{}.SwaggerDoc(), batchv1.CronJobStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Schedule", Type: "string", Description: spec["schedule"]},
		{Name: "Timezone", Type: "string", Description: spec["timeZone"]},
		{Name: "Suspend", Type: "boolean", Description: spec["suspend"]},
		{Name: "Active", Type: "integer", Description: status["active"]},
		{Name: "Last Schedule", Type: "string", Description: status["lastScheduleTime"]},
		registry.AgeColumn(),
	}
	columns = append(columns, registry.ContainerColumns()...)
	return append(columns, metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]})
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	cj := obj.(*batchv1.CronJob)
	lastSchedule := "<none>"
	if t := cj.Status.LastScheduleTime; t != nil {
		lastSchedule = registry.Since(t.Time, now)
	}
	suspend := "<unset>"
	if s := cj.Spec.Suspend; s != nil {
		suspend = "False"
		if *s {
			suspend = "True"
		}
	}
	tmpl := &cj.Spec.JobTemplate.Spec
	names, images := registry.ContainerCells(tmpl.Template.Spec.Containers)
	return []interface{}{
		cj.Name,
		cj.Spec.Schedule,
		ptr.Deref(cj.Spec.TimeZone, "<none>"),
		suspend,
		int64(len(cj.Status.Active)),
		lastSchedule,
		registry.Since(cj.CreationTimestamp.Time, now),
		names,
		images,
		metav1.FormatLabelSelector(tmpl.Selector),
	}
}
