package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLimitRanges(t *testing.T) {
	q := apiresource.MustParse
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "team"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer,
			Default:              corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("256Mi")},
			DefaultRequest:       corev1.ResourceList{corev1.ResourceCPU: q("100m")},
			Max:                  corev1.ResourceList{corev1.ResourceCPU: q("1")},
			MaxLimitRequestRatio: corev1.ResourceList{corev1.ResourceCPU: q("10")}},
		{Type: corev1.LimitTypePersistentVolumeClaim, Min: corev1.ResourceList{corev1.ResourceStorage: q("1Gi")}},
	}}}
	l := LimitRanges{In: func(ns string) []*corev1.LimitRange {
		if ns == "team" {
			return []*corev1.LimitRange{lr}
		}
		return nil
	}}
	pod := func(res corev1.ResourceRequirements) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: res}}}}
	}
	ctx := context.Background()
	admit := func(p *corev1.Pod) error {
		if err := l.AdmitCreate(ctx, p); err != nil {
			return err
		}
		return l.ValidateCreate(ctx, p)
	}

	p := pod(corev1.ResourceRequirements{})
	if err := admit(p); err != nil {
		t.Fatal(err)
	}
	c := p.Spec.Containers[0].Resources
	if !c.Requests.Cpu().Equal(q("100m")) || !c.Limits.Cpu().Equal(q("500m")) || !c.Limits.Memory().Equal(q("256Mi")) {
		t.Fatalf("defaults: %+v", c)
	}
	if got := p.Annotations[limitRangerAnnotation]; got != "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app" {
		t.Errorf("annotation %q", got)
	}
	// A limit given stands for the request, as the API's defaults make it.
	p = pod(corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("800m")}})
	if err := admit(p); err != nil || !p.Spec.Containers[0].Resources.Requests.Cpu().Equal(q("800m")) {
		t.Fatalf("a pod with a cpu limit: %v %+v", err, p.Spec.Containers[0].Resources)
	}
	for _, tc := range []struct {
		name string
		res  corev1.ResourceRequirements
		want string
	}{
		{"over the max", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: q("2")}},
			`pods "p" is forbidden: maximum cpu usage per Container is 1, but limit is 2`},
		{"over the ratio", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: q("10m")}, Limits: corev1.ResourceList{corev1.ResourceCPU: q("1")}},
			"cpu max limit to request ratio per Container is 10, but provided ratio is 100.000000"},
	} {
		if err := admit(pod(tc.res)); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "team"},
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("100Mi")}}}}
	if err := l.ValidateCreate(ctx, claim); !apierrors.IsForbidden(err) ||
		!strings.Contains(err.Error(), `persistentvolumeclaims "data" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 100Mi`) {
		t.Errorf("a small claim: %v", err)
	}
	// A claim that grows past the max is refused too.
	lr.Spec.Limits[1].Max = corev1.ResourceList{corev1.ResourceStorage: q("2Gi")}
	claim.Spec.Resources.Requests[corev1.ResourceStorage] = q("3Gi")
	if err := l.ValidateUpdate(ctx, claim, nil); !apierrors.IsForbidden(err) ||
		!strings.Contains(err.Error(), "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi") {
		t.Errorf("a claim grown past the max: %v", err)
	}
	// Other namespaces are not bound.
	if err := admit(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "other"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}}); err != nil {
		t.Errorf("a pod elsewhere: %v", err)
	}
}
