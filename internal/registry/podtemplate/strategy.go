package podtemplate

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the PodTemplate strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:    "v1",
		Kind:       "PodTemplate",
		ListKind:   "PodTemplateList",
		Resource:   "podtemplates",
		Singular:   "podtemplate",
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &corev1.PodTemplate{} }
func (*strategy) NewList() runtime.Object { return &corev1.PodTemplateList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*strategy) PrepareForCreate(obj runtime.Object) {
	obj.(*corev1.PodTemplate).Generation = 1
}

// PrepareForUpdate bumps the generation when the template changes.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	pt, oldPT := obj.(*corev1.PodTemplate), old.(*corev1.PodTemplate)
	pt.Generation = oldPT.Generation
	defaulted := pt.DeepCopy()
	pod.DefaultTemplate(&defaulted.Template)
	if !equality.Semantic.DeepEqual(defaulted.Template, oldPT.Template) {
		pt.Generation++
	}
}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

func (*strategy) Default(obj runtime.Object) {
	pod.DefaultTemplate(&obj.(*corev1.PodTemplate).Template)
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return pod.ValidateTemplate(&obj.(*corev1.PodTemplate).Template, field.NewPath("template"))
}

func (s *strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList { return s.Validate(obj) }

func (s *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return s.Validate(obj)
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

// Columns are upstream's for pod templates: the template's containers, images and labels.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Containers", Type: "string", Description: "Names of each container in the template."},
		{Name: "Images", Type: "string", Description: "Images referenced by each container in the template."},
		{Name: "Pod Labels", Type: "string", Description: "The labels for the pod template."},
	}
}

func (*strategy) Row(obj runtime.Object, _ time.Time) []interface{} {
	pt := obj.(*corev1.PodTemplate)
	var names, images []string
	for _, c := range pt.Template.Spec.Containers {
		names, images = append(names, c.Name), append(images, c.Image)
	}
	return []interface{}{pt.Name, strings.Join(names, ","), strings.Join(images, ","), labels.FormatLabels(pt.Template.Labels)}
}
