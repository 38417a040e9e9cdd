package podtemplate

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func template() *corev1.PodTemplate {
	return &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}}}
}

// TestStrategy: a template is defaulted and checked as its pods would be; changing it
// bumps the generation; the table shows its containers, images and labels.
func TestStrategy(t *testing.T) {
	s := New()
	pt := template()
	s.PrepareForCreate(pt)
	s.Default(pt)
	if errs := s.Validate(pt); len(errs) != 0 {
		t.Fatalf("valid template: %v", errs)
	}
	if pt.Generation != 1 || pt.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || pt.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Fatalf("defaults: %+v", pt)
	}
	next := pt.DeepCopy()
	next.Labels = map[string]string{"only": "metadata"}
	s.PrepareForUpdate(next, pt)
	if next.Generation != 1 {
		t.Fatalf("a metadata change bumped the generation to %d", next.Generation)
	}
	next.Template.Spec.Containers[0].Image = "nginx:1.27"
	s.PrepareForUpdate(next, pt)
	if next.Generation != 2 {
		t.Fatalf("a template change left the generation at %d", next.Generation)
	}
	bad := template()
	bad.Template.Spec.Containers[0].Name = "Bad_Name"
	bad.Template.Labels = map[string]string{"-x": "y"}
	s.Default(bad)
	errs := s.Validate(bad)
	if len(errs) != 2 || errs[0].Field != "template.metadata.labels" || !strings.HasPrefix(errs[1].Field, "template.spec.containers[0].name") {
		t.Fatalf("invalid template: %v", errs)
	}
	row := s.Row(pt, time.Now())
	if row[0] != "web" || row[1] != "nginx" || row[2] != "nginx" || row[3] != "app=web" {
		t.Fatalf("row %v", row)
	}
}
