package admission

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiadmission "k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authentication/user"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/auth"
)

// Webhooks calls the admission webhooks that ValidatingWebhookConfigurations and
// MutatingWebhookConfigurations register, with upstream's own plugins
// (k8s.io/apiserver): rules, namespace and object selectors, match conditions (CEL),
// failure policies, timeouts, AdmissionReview v1 and v1beta1, JSON patches and
// reinvocation. It reads the configurations and namespaces through informers of
// factory, which the caller starts.
type Webhooks struct {
	mutating   *mutating.Plugin
	validating *validating.Plugin
	objects    apiadmission.ObjectInterfaces
}

// NewWebhooks returns the webhook admission; resolver finds where a Service's webhook
// answers.
func NewWebhooks(client kubernetes.Interface, factory informers.SharedInformerFactory, scheme *runtime.Scheme, resolver webhookutil.ServiceResolver) (*Webhooks, error) {
	m, err := mutating.NewMutatingWebhook(nil)
	if err != nil {
		return nil, err
	}
	v, err := validating.NewValidatingAdmissionWebhook(nil)
	if err != nil {
		return nil, err
	}
	for _, p := range []interface {
		SetExternalKubeClientSet(kubernetes.Interface)
		SetExternalKubeInformerFactory(informers.SharedInformerFactory)
		SetServiceResolver(webhookutil.ServiceResolver)
		ValidateInitialization() error
	}{m, v} {
		p.SetExternalKubeClientSet(client)
		p.SetExternalKubeInformerFactory(factory)
		p.SetServiceResolver(resolver)
		if err := p.ValidateInitialization(); err != nil {
			return nil, err
		}
	}
	return &Webhooks{mutating: m, validating: v, objects: apiadmission.NewObjectInterfacesFromScheme(scheme)}, nil
}

// For returns the admitter of one resource, whose objects are of kind.
func (w *Webhooks) For(gvr schema.GroupVersionResource, kind schema.GroupVersionKind, namespaced bool) Admitter {
	return webhookAdmitter{w: w, gvr: gvr, kind: kind, namespaced: namespaced}
}

type webhookAdmitter struct {
	w          *Webhooks
	gvr        schema.GroupVersionResource
	kind       schema.GroupVersionKind
	namespaced bool
}

func (a webhookAdmitter) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	return a.admit(ctx, apiadmission.Create, "", obj, nil, &metav1.CreateOptions{})
}

func (a webhookAdmitter) AdmitUpdate(ctx context.Context, obj, old runtime.Object) error {
	return a.admit(ctx, apiadmission.Update, "", obj, old, &metav1.UpdateOptions{})
}

func (a webhookAdmitter) AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error {
	return a.admit(ctx, apiadmission.Update, subresource, obj, old, &metav1.UpdateOptions{})
}

// admit runs the mutating webhooks, then the validating ones, as upstream's chain ends.
func (a webhookAdmitter) admit(ctx context.Context, op apiadmission.Operation, subresource string, obj, old runtime.Object, opts runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	var who user.Info = &user.DefaultInfo{}
	if u := auth.UserFrom(ctx); u != nil {
		who = &user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
	}
	ns := m.GetNamespace()
	if !a.namespaced {
		ns = ""
	}
	attrs := apiadmission.NewAttributesRecord(obj, old, a.kind, ns, m.GetName(), a.gvr, subresource, op, opts, false, who)
	if err := a.w.mutating.Admit(ctx, attrs, a.w.objects); err != nil {
		return err
	}
	return a.w.validating.Validate(ctx, attrs, a.w.objects)
}
