package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestRuntimeClasses(t *testing.T) {
	overhead := corev1.ResourceList{corev1.ResourceCPU: apiresource.MustParse("100m")}
	classes := map[string]*nodev1.RuntimeClass{
		"gvisor": {ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc", Overhead: &nodev1.Overhead{PodFixed: overhead},
			Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox": "yes"},
				Tolerations: []corev1.Toleration{{Key: "sandbox", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}}},
		"plain": {ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Handler: "runc"},
	}
	r := RuntimeClasses{Get: func(name string) *nodev1.RuntimeClass { return classes[name] }}
	pod := func(class string, mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
		if class != "" {
			p.Spec.RuntimeClassName = ptr.To(class)
		}
		if mut != nil {
			mut(p)
		}
		return p
	}
	ctx := context.Background()
	admitted := func(p *corev1.Pod) error {
		if err := r.AdmitCreate(ctx, p); err != nil {
			return err
		}
		return r.ValidateCreate(ctx, p)
	}

	p := pod("gvisor", nil)
	if err := admitted(p); err != nil || !p.Spec.Overhead.Cpu().Equal(apiresource.MustParse("100m")) || p.Spec.NodeSelector["sandbox"] != "yes" || len(p.Spec.Tolerations) != 1 {
		t.Fatalf("a pod of class gvisor: %v %+v", err, p.Spec)
	}
	if err := admitted(pod("plain", nil)); err != nil {
		t.Fatalf("a pod of class plain: %v", err)
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"an unknown class", pod("missing", nil), `pod rejected: RuntimeClass "missing" not found`},
		{"another overhead", pod("gvisor", func(p *corev1.Pod) {
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: apiresource.MustParse("1")}
		}),
			"pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"},
		{"an overhead without one in the class", pod("plain", func(p *corev1.Pod) { p.Spec.Overhead = overhead }),
			"pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"},
		{"a contradicting node selector", pod("gvisor", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"sandbox": "no"} }),
			"conflict: runtimeClass.scheduling.nodeSelector[sandbox] = yes; pod.spec.nodeSelector[sandbox] = no"},
	} {
		if err := admitted(tc.pod); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
