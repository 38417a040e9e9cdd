package admission

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	psadmission "k8s.io/pod-security-admission/admission"
	"k8s.io/pod-security-admission/admission/api/load"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/metrics"
	"k8s.io/pod-security-admission/policy"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/warning"
)

// PodSecurity is upstream's Pod Security admission, from its library: the
// pod-security.kubernetes.io/enforce, audit and warn labels of a namespace hold its pods
// (and the pod templates of its workloads, for warnings) to the privileged, baseline or
// restricted standard. Without labels a namespace is privileged, as upstream's default
// configuration has it.
type PodSecurity struct {
	admission *psadmission.Admission
}

// PodSecurityConfig is what the admission reads: namespaces, and a namespace's pods
// (to warn of those a new enforce level would refuse).
type PodSecurityConfig struct {
	Namespace func(ctx context.Context, name string) (*corev1.Namespace, error)
	Pods      func(ctx context.Context, namespace string) ([]*corev1.Pod, error)
}

type namespaceGetter func(ctx context.Context, name string) (*corev1.Namespace, error)

func (f namespaceGetter) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return f(ctx, name)
}

type podLister func(ctx context.Context, namespace string) ([]*corev1.Pod, error)

func (f podLister) ListPods(ctx context.Context, namespace string) ([]*corev1.Pod, error) {
	return f(ctx, namespace)
}

// noMetrics records nothing: podium does not export the admission's metrics.
type noMetrics struct{}

func (noMetrics) RecordEvaluation(metrics.Decision, psapi.LevelVersion, metrics.Mode, psapi.Attributes) {
}
func (noMetrics) RecordExemption(psapi.Attributes)   {}
func (noMetrics) RecordError(bool, psapi.Attributes) {}

// NewPodSecurity returns the admission with upstream's default configuration.
func NewPodSecurity(cfg PodSecurityConfig) (*PodSecurity, error) {
	conf, err := load.LoadFromData(nil)
	if err != nil {
		return nil, err
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	a := &psadmission.Admission{Configuration: conf, Evaluator: evaluator, Metrics: noMetrics{},
		PodSpecExtractor: psadmission.DefaultPodSpecExtractor{},
		NamespaceGetter:  namespaceGetter(cfg.Namespace), PodLister: podLister(cfg.Pods)}
	if err := a.CompleteConfiguration(); err != nil {
		return nil, err
	}
	if err := a.ValidateConfiguration(); err != nil {
		return nil, err
	}
	return &PodSecurity{admission: a}, nil
}

// For returns the admitter of one resource (pods, namespaces, or a workload that has a
// pod template).
func (p *PodSecurity) For(gvr schema.GroupVersionResource, kind string) Admitter {
	return podSecurityAdmitter{p: p, gvr: gvr, kind: gvr.GroupVersion().WithKind(kind)}
}

// Admitter is what the API server asks about writes (apiserver.Admitter's methods,
// with subresource writes).
type Admitter interface {
	AdmitCreate(ctx context.Context, obj runtime.Object) error
	AdmitUpdate(ctx context.Context, obj, old runtime.Object) error
	AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error
	ValidateCreate(ctx context.Context, obj runtime.Object) error
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) error
}

// validateOnly is embedded by admitters that only validate: their mutating phase
// admits everything, and their checks run in the validating phase (ValidateCreate,
// ValidateUpdate), after every mutation, as upstream's validating plugins.
type validateOnly struct{}

func (validateOnly) AdmitCreate(context.Context, runtime.Object) error { return nil }

func (validateOnly) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }

type podSecurityAdmitter struct {
	validateOnly
	p    *PodSecurity
	gvr  schema.GroupVersionResource
	kind schema.GroupVersionKind
}

func (a podSecurityAdmitter) ValidateCreate(ctx context.Context, obj runtime.Object) error {
	return a.admit(ctx, admissionv1.Create, "", obj, nil)
}

func (a podSecurityAdmitter) ValidateUpdate(ctx context.Context, obj, old runtime.Object) error {
	return a.admit(ctx, admissionv1.Update, "", obj, old)
}

// AdmitSubresourceUpdate checks a pod's new ephemeral containers; the admission passes
// every other subresource.
func (a podSecurityAdmitter) AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error {
	return a.admit(ctx, admissionv1.Update, subresource, obj, old)
}

func (a podSecurityAdmitter) admit(ctx context.Context, op admissionv1.Operation, subresource string, obj, old runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	attrs := &psapi.AttributesRecord{Name: m.GetName(), Namespace: m.GetNamespace(), Kind: a.kind, Resource: a.gvr,
		Subresource: subresource, Operation: op, Object: obj, OldObject: old}
	if a.gvr.Resource == "namespaces" {
		attrs.Namespace = ""
	}
	if u := auth.UserFrom(ctx); u != nil {
		attrs.Username = u.Name
	}
	resp := a.p.admission.Validate(ctx, attrs)
	for _, w := range resp.Warnings {
		warning.Add(ctx, w)
	}
	if resp.Allowed {
		return nil
	}
	if resp.Result == nil {
		return apierrors.NewForbidden(a.gvr.GroupResource(), m.GetName(), fmt.Errorf("denied by pod security admission"))
	}
	return &apierrors.StatusError{ErrStatus: *resp.Result}
}
