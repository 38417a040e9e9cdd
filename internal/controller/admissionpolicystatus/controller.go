package admissionpolicystatus

import (
	"context"
	"log/slog"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	policyvalidating "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	applyv1 "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listers "k8s.io/client-go/listers/admissionregistration/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Name is the controller's field manager, upstream's.
const Name = "validatingadmissionpolicy-status"

// Controller keeps the policies' type checking current.
type Controller struct {
	client  kubernetes.Interface
	lister  listers.ValidatingAdmissionPolicyLister
	synced  cache.InformerSynced
	checker *policyvalidating.TypeChecker
	loop    *reconcile.Loop
}

// New returns the controller; mapper finds the kinds a policy's rules match. The caller
// starts the informers.
func New(client kubernetes.Interface, disc discovery.DiscoveryInterface, mapper meta.RESTMapper, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	inf := factory.Admissionregistration().V1().ValidatingAdmissionPolicies()
	c := &Controller{client: client, lister: inf.Lister(), synced: inf.Informer().HasSynced,
		checker: &policyvalidating.TypeChecker{SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: disc}, RestMapper: mapper}}
	c.loop = reconcile.New(Name, c.sync, log)
	_, _ = inf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if p, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
			return p.Name
		}
		return ""
	}))
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	p, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil || p.Generation <= p.Status.ObservedGeneration {
		return 0, err
	}
	warnings := []*applyv1.ExpressionWarningApplyConfiguration{}
	for _, w := range c.checker.Check(p) {
		warnings = append(warnings, applyv1.ExpressionWarning().WithFieldRef(w.FieldRef).WithWarning(w.Warning))
	}
	status := applyv1.ValidatingAdmissionPolicy(p.Name).WithStatus(applyv1.ValidatingAdmissionPolicyStatus().
		WithObservedGeneration(p.Generation).WithTypeChecking(applyv1.TypeChecking().WithExpressionWarnings(warnings...)))
	_, err = c.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().ApplyStatus(ctx, status, metav1.ApplyOptions{FieldManager: Name, Force: true})
	return 0, err
}
