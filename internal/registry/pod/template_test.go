package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestTemplateDefaults: a template gets upstream's PodSpec defaults but not those
// upstream gives pods only; the pods made from it get those when they are created.
func TestTemplateDefaults(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			DeprecatedServiceAccount: "builder",
			HostNetwork:              true,
			Containers: []corev1.Container{{
				Name: "web", Image: "nginx",
				Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
			}},
		},
	}
	DefaultTemplate(tmpl)
	spec, c := tmpl.Spec, tmpl.Spec.Containers[0]
	if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.DNSPolicy != corev1.DNSClusterFirst || spec.SecurityContext == nil ||
		spec.TerminationGracePeriodSeconds == nil || spec.SchedulerName != corev1.DefaultSchedulerName ||
		c.ImagePullPolicy != corev1.PullAlways || c.TerminationMessagePath == "" || c.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("PodSpec defaults missing: %+v", spec)
	}
	if spec.ServiceAccountName != "builder" {
		t.Errorf("serviceAccountName %q, want the alias's builder", spec.ServiceAccountName)
	}
	if spec.EnableServiceLinks != nil || spec.Priority != nil || spec.PreemptionPolicy != nil || spec.Tolerations != nil ||
		c.Resources.Requests != nil || c.Ports[0].HostPort != 0 {
		t.Errorf("pod-only defaults in a template: %+v", spec)
	}
	if errs := ValidateTemplate(tmpl, field.NewPath("template")); len(errs) != 0 {
		t.Errorf("a host-network template leaving host ports to its pods: %v", errs)
	}
}
