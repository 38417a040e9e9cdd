package admission

import (
	"context"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	resourcequotaapi "k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiadmission "k8s.io/apiserver/pkg/admission"
	policymutating "k8s.io/apiserver/pkg/admission/plugin/policy/mutating"
	policyvalidating "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/mutating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/validating"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	apiwarning "k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/dryrun"
	"github.com/podium/podium/internal/warning"
)

// Extensions is the admission that users extend, with upstream's own plugins
// (k8s.io/apiserver), run in upstream's order:
//   - MutatingAdmissionPolicies through their bindings (CEL apply configurations and
//     JSON patches);
//   - the mutating webhooks of MutatingWebhookConfigurations;
//   - ValidatingAdmissionPolicies through their bindings (CEL, params, Deny, Warn and
//     Audit actions, messageExpression);
//   - the validating webhooks of ValidatingWebhookConfigurations.
//
// Webhooks get their rules, namespace and object selectors, match conditions (CEL),
// failure policies, timeouts, AdmissionReview v1 and v1beta1, JSON patches and
// reinvocation as upstream. The plugins read their configurations and the namespaces
// through informers of the factory, which the caller starts.
type Extensions struct {
	mutatingPolicies func() (*policymutating.Plugin, error)
	mutating         *mutating.Plugin
	policies         *policyvalidating.Plugin
	validating       *validating.Plugin
	objects          apiadmission.ObjectInterfaces
	scheme           *runtime.Scheme
	any              func(resource string) bool
	quota            *resourcequota.QuotaAdmission // or nil
	anyQuota         func() bool
}

// ExtensionsConfig is what the plugins need.
type ExtensionsConfig struct {
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	Informers  informers.SharedInformerFactory
	Scheme     *runtime.Scheme
	RESTMapper meta.RESTMapper
	// Resolver finds where a Service's webhook answers.
	Resolver webhookutil.ServiceResolver
	// Authorizer answers the authorizer library of policies' expressions.
	Authorizer auth.Authorizer
	// Stop ends the plugins' background work.
	Stop <-chan struct{}
	// Any reports whether any object of an admissionregistration.k8s.io resource
	// exists: a plugin with nothing to apply is skipped (and not waited for while its
	// informers start).
	Any func(resource string) bool
	// Quota, when set, is what ResourceQuotas count (package quota); AnyQuota reports
	// whether any ResourceQuota exists (none: the plugin is skipped).
	Quota    quotav1.Configuration
	AnyQuota func() bool
}

// NewExtensions returns the admission.
func NewExtensions(cfg ExtensionsConfig) (*Extensions, error) {
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
		p.SetExternalKubeClientSet(cfg.Client)
		p.SetExternalKubeInformerFactory(cfg.Informers)
		p.SetServiceResolver(cfg.Resolver)
		if err := p.ValidateInitialization(); err != nil {
			return nil, err
		}
	}
	pol, err := policyvalidating.NewPlugin(nil)
	if err != nil {
		return nil, err
	}
	if err := initPolicies(pol, cfg); err != nil {
		return nil, err
	}
	// The mutating policies' plugin polls the server's OpenAPI every 5 s for the types of
	// its apply configurations: it is made when the first binding exists.
	mpol := sync.OnceValues(func() (*policymutating.Plugin, error) {
		p, err := policymutating.NewPlugin(nil)
		if err != nil {
			return nil, err
		}
		p.SetEnabled(true) // GA since v1.36
		seen := newPathsSeen(cfg.Client)
		withSeen := cfg
		withSeen.Client = seen
		if err := initPolicies(p, withSeen); err != nil {
			return nil, err
		}
		cfg.Informers.Start(cfg.Stop) // the informers it added
		seen.wait(10 * time.Second)
		return p, nil
	})
	e := &Extensions{mutatingPolicies: mpol, mutating: m, policies: pol, validating: v, objects: apiadmission.NewObjectInterfacesFromScheme(cfg.Scheme), scheme: cfg.Scheme, any: cfg.Any}
	if cfg.Quota != nil {
		if e.quota, err = newQuota(cfg); err != nil {
			return nil, err
		}
		e.anyQuota = cfg.AnyQuota
	}
	return e, nil
}

// initPolicies sets up a policy plugin (validating or mutating) as the API server's
// admission initializers would.
func initPolicies(p interface {
	SetExternalKubeClientSet(kubernetes.Interface)
	SetExternalKubeInformerFactory(informers.SharedInformerFactory)
	SetRESTMapper(meta.RESTMapper)
	SetDynamicClient(dynamic.Interface)
	SetDrainedNotification(<-chan struct{})
	SetUnconditionalAuthorizer(authorizer.UnconditionalAuthorizer)
	ValidateInitialization() error
}, cfg ExtensionsConfig) error {
	p.SetExternalKubeClientSet(cfg.Client)
	p.SetExternalKubeInformerFactory(cfg.Informers)
	p.SetRESTMapper(cfg.RESTMapper)
	p.SetDynamicClient(cfg.Dynamic)
	p.SetDrainedNotification(cfg.Stop)
	p.SetUnconditionalAuthorizer(authorizerAdapter{cfg.Authorizer})
	return p.ValidateInitialization()
}

// For returns the admitter of one resource, whose objects are of kind.
func (e *Extensions) For(gvr schema.GroupVersionResource, kind schema.GroupVersionKind, namespaced bool) Admitter {
	return extensionAdmitter{e: e, gvr: gvr, kind: kind, namespaced: namespaced}
}

type extensionAdmitter struct {
	e          *Extensions
	gvr        schema.GroupVersionResource
	kind       schema.GroupVersionKind
	namespaced bool
}

// AdmitCreate and AdmitUpdate run the mutating policies and webhooks; ValidateCreate
// and ValidateUpdate, once the object is defaulted and valid, the validating ones.
func (a extensionAdmitter) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	return a.admit(ctx, mutatePhase, apiadmission.Create, "", obj, nil, &metav1.CreateOptions{})
}

func (a extensionAdmitter) AdmitUpdate(ctx context.Context, obj, old runtime.Object) error {
	return a.admit(ctx, mutatePhase, apiadmission.Update, "", obj, old, &metav1.UpdateOptions{})
}

func (a extensionAdmitter) ValidateCreate(ctx context.Context, obj runtime.Object) error {
	return a.admit(ctx, validatePhase, apiadmission.Create, "", obj, nil, &metav1.CreateOptions{})
}

func (a extensionAdmitter) ValidateUpdate(ctx context.Context, obj, old runtime.Object) error {
	return a.admit(ctx, validatePhase, apiadmission.Update, "", obj, old, &metav1.UpdateOptions{})
}

// AdmitSubresourceUpdate runs both phases on a write of status or another subresource.
func (a extensionAdmitter) AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error {
	return a.admit(ctx, mutatePhase|validatePhase, apiadmission.Update, subresource, obj, old, &metav1.UpdateOptions{})
}

// AdmitDelete runs the policies and validating webhooks registered for DELETE (the
// mutating webhooks are called too, as upstream does, but have nothing to change).
func (a extensionAdmitter) AdmitDelete(ctx context.Context, old runtime.Object, opts *metav1.DeleteOptions) error {
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	return a.admit(ctx, mutatePhase|validatePhase, apiadmission.Delete, "", nil, old, opts)
}

// phase is which of admission's phases to run.
type phase int

const (
	mutatePhase phase = 1 << iota
	validatePhase
)

func (a extensionAdmitter) admit(ctx context.Context, ph phase, op apiadmission.Operation, subresource string, obj, old runtime.Object, opts runtime.Object) error {
	subject := obj
	if subject == nil {
		subject = old
	}
	m, err := meta.Accessor(subject)
	if err != nil {
		return nil
	}
	ns := m.GetNamespace()
	if !a.namespaced {
		ns = ""
	}
	dryRun := dryrun.From(ctx)
	switch o := opts.(type) {
	case *metav1.DeleteOptions:
		dryRun = dryRun || len(o.DryRun) > 0
	case *metav1.CreateOptions:
		if dryRun {
			o.DryRun = []string{metav1.DryRunAll}
		}
	case *metav1.UpdateOptions:
		if dryRun {
			o.DryRun = []string{metav1.DryRunAll}
		}
	}
	return a.dispatch(ctx, ph, apiadmission.NewAttributesRecord(obj, old, a.kind, ns, m.GetName(), a.gvr, subresource, op, opts, dryRun, userInfo(ctx)))
}

// AdmitConnect admits a CONNECT to a subresource (pods' exec, attach and portforward),
// whose options are opts, as upstream: the options are the object the webhooks and
// policies see.
func (a extensionAdmitter) AdmitConnect(ctx context.Context, subresource, namespace, name string, opts runtime.Object) error {
	gvks, _, err := a.e.scheme.ObjectKinds(opts)
	if err != nil || len(gvks) == 0 {
		return nil
	}
	return a.dispatch(ctx, mutatePhase|validatePhase, apiadmission.NewAttributesRecord(opts, nil, gvks[0], namespace, name, a.gvr, subresource, apiadmission.Connect, nil, false, userInfo(ctx)))
}

func userInfo(ctx context.Context) user.Info {
	if u := auth.UserFrom(ctx); u != nil {
		return &user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
	}
	return &user.DefaultInfo{}
}

// dispatch runs the plugins of phase ph that have something to apply, in order.
func (a extensionAdmitter) dispatch(ctx context.Context, ph phase, attrs apiadmission.Attributes) error {
	op := attrs.GetOperation()
	// The plugins' warnings (a policy's Warn action, a webhook's) go to the response.
	ctx = apiwarning.WithWarningRecorder(ctx, warnings{ctx})
	if ph&mutatePhase != 0 {
		if err := a.mutate(ctx, op, attrs); err != nil {
			return err
		}
	}
	if ph&validatePhase == 0 {
		return nil
	}
	if a.e.any("validatingadmissionpolicybindings") {
		if err := a.e.policies.Validate(ctx, attrs, a.e.objects); err != nil {
			return err
		}
	}
	if a.e.any("validatingwebhookconfigurations") {
		if err := a.e.validating.Validate(ctx, attrs, a.e.objects); err != nil {
			return err
		}
	}
	// ResourceQuota last, as upstream's plugin order has it: it charges what is admitted.
	if q := a.e.quota; q != nil && q.Handles(op) && a.e.anyQuota() {
		return q.Validate(ctx, attrs, a.e.objects)
	}
	return nil
}

// mutate runs the mutating policies and webhooks.
func (a extensionAdmitter) mutate(ctx context.Context, op apiadmission.Operation, attrs apiadmission.Attributes) error {
	if a.e.any("mutatingadmissionpolicybindings") && op != apiadmission.Delete && op != apiadmission.Connect {
		p, err := a.e.mutatingPolicies()
		if err != nil {
			return err
		}
		if err := p.Admit(ctx, attrs, a.e.objects); err != nil {
			return err
		}
	}
	if a.e.any("mutatingwebhookconfigurations") {
		return a.e.mutating.Admit(ctx, attrs, a.e.objects)
	}
	return nil
}

// warnings passes the plugins' warnings on to the request's.
type warnings struct{ ctx context.Context }

func (w warnings) AddWarning(_, text string) { warning.Add(w.ctx, text) }

// authorizerAdapter answers k8s.io/apiserver's authorizer questions with podium's.
type authorizerAdapter struct{ az auth.Authorizer }

func (a authorizerAdapter) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.az == nil || attrs.GetUser() == nil {
		return authorizer.DecisionNoOpinion, "", nil
	}
	u := attrs.GetUser()
	ok, reason := a.az.Authorize(ctx, &auth.User{Name: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}, auth.Attributes{
		Verb: attrs.GetVerb(), Group: attrs.GetAPIGroup(), Resource: attrs.GetResource(), Subresource: attrs.GetSubresource(),
		Namespace: attrs.GetNamespace(), Name: attrs.GetName(), Path: attrs.GetPath(),
	})
	if ok {
		return authorizer.DecisionAllow, reason, nil
	}
	return authorizer.DecisionNoOpinion, reason, nil
}

// newQuota makes upstream's ResourceQuota plugin with podium's evaluators: it charges
// each admitted object to the quotas of its namespace and writes their status.used.
func newQuota(cfg ExtensionsConfig) (*resourcequota.QuotaAdmission, error) {
	q, err := resourcequota.NewResourceQuota(&resourcequotaapi.Configuration{}, 5)
	if err != nil {
		return nil, err
	}
	q.SetDrainedNotification(cfg.Stop) // before the configuration, which starts its workers
	q.SetExternalKubeClientSet(cfg.Client)
	q.SetExternalKubeInformerFactory(cfg.Informers)
	q.SetQuotaConfiguration(cfg.Quota)
	return q, q.ValidateInitialization()
}
