package webhookconfiguration

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy = (*validating)(nil)
	_ registry.Strategy = (*mutating)(nil)
)

// NewValidating returns the ValidatingWebhookConfiguration strategy.
func NewValidating() registry.Strategy { return &validating{} }

// NewMutating returns the MutatingWebhookConfiguration strategy.
func NewMutating() registry.Strategy { return &mutating{} }

type common struct{}

func (common) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}
func (common) PrepareForCreate(runtime.Object)                                     {}
func (common) PrepareForUpdate(runtime.Object, runtime.Object)                     {}
func (common) PrepareForStatusUpdate(runtime.Object, runtime.Object)               {}
func (common) ValidateStatusUpdate(runtime.Object, runtime.Object) field.ErrorList { return nil }
func (common) Fields(obj runtime.Object) fields.Set                                { return registry.MetaFields(obj, false) }

func (common) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks in the configuration"},
		registry.AgeColumn(),
	}
}

func info(kind, resource string) registry.Info {
	return registry.Info{Group: admissionregistrationv1.GroupName, Version: "v1", Kind: kind, ListKind: kind + "List",
		Resource: resource, Singular: strings.ToLower(kind), Categories: []string{"api-extensions"}}
}

type validating struct{ common }

func (*validating) Info() registry.Info {
	return info("ValidatingWebhookConfiguration", "validatingwebhookconfigurations")
}
func (*validating) New() runtime.Object {
	return &admissionregistrationv1.ValidatingWebhookConfiguration{}
}
func (*validating) NewList() runtime.Object {
	return &admissionregistrationv1.ValidatingWebhookConfigurationList{}
}

func (*validating) Default(obj runtime.Object) {
	c := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		defaultHook(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
	}
}

func (*validating) Validate(obj runtime.Object) field.ErrorList {
	c := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	var hooks []hook
	for _, w := range c.Webhooks {
		hooks = append(hooks, hook{name: w.Name, client: w.ClientConfig, rules: w.Rules, failure: w.FailurePolicy, match: w.MatchPolicy,
			sideEffects: w.SideEffects, timeout: w.TimeoutSeconds, versions: w.AdmissionReviewVersions,
			namespaceSelector: w.NamespaceSelector, objectSelector: w.ObjectSelector, conditions: w.MatchConditions})
	}
	return validateHooks(hooks)
}

func (s *validating) ValidateUpdate(obj, _ runtime.Object) field.ErrorList { return s.Validate(obj) }

func (*validating) Row(obj runtime.Object, now time.Time) []interface{} {
	c := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	return []interface{}{c.Name, int64(len(c.Webhooks)), registry.Since(c.CreationTimestamp.Time, now)}
}

type mutating struct{ common }

func (*mutating) Info() registry.Info {
	return info("MutatingWebhookConfiguration", "mutatingwebhookconfigurations")
}
func (*mutating) New() runtime.Object {
	return &admissionregistrationv1.MutatingWebhookConfiguration{}
}
func (*mutating) NewList() runtime.Object {
	return &admissionregistrationv1.MutatingWebhookConfigurationList{}
}

func (*mutating) Default(obj runtime.Object) {
	c := obj.(*admissionregistrationv1.MutatingWebhookConfiguration)
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		defaultHook(&w.FailurePolicy, &w.MatchPolicy, &w.NamespaceSelector, &w.ObjectSelector, &w.TimeoutSeconds, w.Rules, &w.ClientConfig)
		if w.ReinvocationPolicy == nil {
			w.ReinvocationPolicy = ptr.To(admissionregistrationv1.NeverReinvocationPolicy)
		}
	}
}

func (*mutating) Validate(obj runtime.Object) field.ErrorList {
	c := obj.(*admissionregistrationv1.MutatingWebhookConfiguration)
	var hooks []hook
	var errs field.ErrorList
	for i, w := range c.Webhooks {
		hooks = append(hooks, hook{name: w.Name, client: w.ClientConfig, rules: w.Rules, failure: w.FailurePolicy, match: w.MatchPolicy,
			sideEffects: w.SideEffects, timeout: w.TimeoutSeconds, versions: w.AdmissionReviewVersions,
			namespaceSelector: w.NamespaceSelector, objectSelector: w.ObjectSelector, conditions: w.MatchConditions})
		if p := w.ReinvocationPolicy; p != nil && *p != admissionregistrationv1.NeverReinvocationPolicy && *p != admissionregistrationv1.IfNeededReinvocationPolicy {
			errs = append(errs, field.NotSupported(field.NewPath("webhooks").Index(i).Child("reinvocationPolicy"), *p,
				[]string{string(admissionregistrationv1.NeverReinvocationPolicy), string(admissionregistrationv1.IfNeededReinvocationPolicy)}))
		}
	}
	return append(validateHooks(hooks), errs...)
}

func (s *mutating) ValidateUpdate(obj, _ runtime.Object) field.ErrorList { return s.Validate(obj) }

func (*mutating) Row(obj runtime.Object, now time.Time) []interface{} {
	c := obj.(*admissionregistrationv1.MutatingWebhookConfiguration)
	return []interface{}{c.Name, int64(len(c.Webhooks)), registry.Since(c.CreationTimestamp.Time, now)}
}

func defaultHook(failure **admissionregistrationv1.FailurePolicyType, match **admissionregistrationv1.MatchPolicyType,
	ns, objs **metav1.LabelSelector, timeout **int32, rules []admissionregistrationv1.RuleWithOperations, client *admissionregistrationv1.WebhookClientConfig) {
	if *failure == nil {
		*failure = ptr.To(admissionregistrationv1.Fail)
	}
	if *match == nil {
		*match = ptr.To(admissionregistrationv1.Equivalent)
	}
	if *ns == nil {
		*ns = &metav1.LabelSelector{}
	}
	if *objs == nil {
		*objs = &metav1.LabelSelector{}
	}
	if *timeout == nil {
		*timeout = ptr.To[int32](10)
	}
	for i := range rules {
		if rules[i].Scope == nil {
			rules[i].Scope = ptr.To(admissionregistrationv1.AllScopes)
		}
	}
	if client.Service != nil && client.Service.Port == nil {
		client.Service.Port = ptr.To[int32](443)
	}
}

// hook is what validating and mutating webhooks share.
type hook struct {
	name                              string
	client                            admissionregistrationv1.WebhookClientConfig
	rules                             []admissionregistrationv1.RuleWithOperations
	failure                           *admissionregistrationv1.FailurePolicyType
	match                             *admissionregistrationv1.MatchPolicyType
	sideEffects                       *admissionregistrationv1.SideEffectClass
	timeout                           *int32
	versions                          []string
	namespaceSelector, objectSelector *metav1.LabelSelector
	conditions                        []admissionregistrationv1.MatchCondition
}

var operations = []string{"*", "CREATE", "UPDATE", "DELETE", "CONNECT"}

func validateHooks(hooks []hook) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, h := range hooks {
		p := field.NewPath("webhooks").Index(i)
		switch {
		case h.name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case seen[h.name]:
			errs = append(errs, field.Duplicate(p.Child("name"), h.name))
		default:
			for _, msg := range validation.IsFullyQualifiedName(field.NewPath(""), h.name) {
				errs = append(errs, field.Invalid(p.Child("name"), h.name, msg.Detail))
			}
		}
		seen[h.name] = true
		errs = append(errs, validateClient(p.Child("clientConfig"), h.client)...)
		for j, r := range h.rules {
			errs = append(errs, ValidateRule(p.Child("rules").Index(j), r)...)
		}
		if f := h.failure; f != nil && *f != admissionregistrationv1.Fail && *f != admissionregistrationv1.Ignore {
			errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *f, []string{"Fail", "Ignore"}))
		}
		if m := h.match; m != nil && *m != admissionregistrationv1.Exact && *m != admissionregistrationv1.Equivalent {
			errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *m, []string{"Equivalent", "Exact"}))
		}
		switch {
		case h.sideEffects == nil:
			errs = append(errs, field.Required(p.Child("sideEffects"), "must specify one of None, NoneOnDryRun"))
		case *h.sideEffects != admissionregistrationv1.SideEffectClassNone && *h.sideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun:
			errs = append(errs, field.NotSupported(p.Child("sideEffects"), *h.sideEffects, []string{"None", "NoneOnDryRun"}))
		}
		if t := h.timeout; t != nil && (*t < 1 || *t > 30) {
			errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *t, "the timeout value must be between 1 and 30 seconds"))
		}
		if len(h.versions) == 0 {
			errs = append(errs, field.Required(p.Child("admissionReviewVersions"), "must specify one of v1, v1beta1"))
		} else if !slices.Contains(h.versions, "v1") && !slices.Contains(h.versions, "v1beta1") {
			errs = append(errs, field.Invalid(p.Child("admissionReviewVersions"), h.versions, "must include at least one of v1, v1beta1"))
		}
		opts := metav1validation.LabelSelectorValidationOptions{}
		if h.namespaceSelector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(h.namespaceSelector, opts, p.Child("namespaceSelector"))...)
		}
		if h.objectSelector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(h.objectSelector, opts, p.Child("objectSelector"))...)
		}
		if len(h.conditions) > 64 {
			errs = append(errs, field.TooMany(p.Child("matchConditions"), len(h.conditions), 64))
		}
		errs = append(errs, ValidateMatchConditions(p.Child("matchConditions"), h.conditions)...)
	}
	return errs
}

// ValidateRule checks one rule of a webhook or policy: operations, groups, versions
// and resources given, operations and scope among those upstream knows.
func ValidateRule(p *field.Path, r admissionregistrationv1.RuleWithOperations) field.ErrorList {
	var errs field.ErrorList
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	for k, op := range r.Operations {
		if !slices.Contains(operations, string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(k), op, operations))
		}
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if len(r.Resources) == 0 {
		errs = append(errs, field.Required(p.Child("resources"), ""))
	}
	if s := r.Scope; s != nil && *s != admissionregistrationv1.AllScopes && *s != admissionregistrationv1.ClusterScope && *s != admissionregistrationv1.NamespacedScope {
		errs = append(errs, field.NotSupported(p.Child("scope"), *s, []string{"*", "Cluster", "Namespaced"}))
	}
	return errs
}

// validateClient checks that a client configuration names exactly one of a URL (https,
// no user, fragment or query) and a service.
func validateClient(p *field.Path, c admissionregistrationv1.WebhookClientConfig) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.URL == nil && c.Service == nil:
		errs = append(errs, field.Required(p, "exactly one of url or service is required"))
	case c.URL != nil && c.Service != nil:
		errs = append(errs, field.Required(p, "exactly one of url or service is required"))
	case c.URL != nil:
		u, err := url.Parse(*c.URL)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p.Child("url"), *c.URL, fmt.Sprintf("url must be a valid URL: %v", err)))
		case u.Scheme != "https":
			errs = append(errs, field.Invalid(p.Child("url"), *c.URL, "'https' is the only allowed URL scheme"))
		case u.Host == "":
			errs = append(errs, field.Invalid(p.Child("url"), *c.URL, "host must be specified"))
		case u.User != nil:
			errs = append(errs, field.Invalid(p.Child("url"), *c.URL, "user information is not permitted in the URL"))
		case u.Fragment != "" || u.RawQuery != "":
			errs = append(errs, field.Invalid(p.Child("url"), *c.URL, "fragments and query parameters are not permitted in the URL"))
		}
	default:
		s := c.Service
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("service", "name"), "service name is required"))
		}
		if s.Namespace == "" {
			errs = append(errs, field.Required(p.Child("service", "namespace"), "service namespace is required"))
		}
		if s.Port != nil && (*s.Port < 1 || *s.Port > 65535) {
			errs = append(errs, field.Invalid(p.Child("service", "port"), *s.Port, "port is not valid: must be between 1 and 65535, inclusive"))
		}
	}
	return errs
}

// compiler compiles match conditions as the webhooks' admission does, built on first use.
var compiler = sync.OnceValue(func() plugincel.Compiler {
	return plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
})

// ValidateMatchConditions checks match conditions as upstream does: names given, valid
// and unique, and expressions that compile to a bool ("compilation failed: ..." when
// they do not).
func ValidateMatchConditions(p *field.Path, conds []admissionregistrationv1.MatchCondition) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, c := range conds {
		cp := p.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(cp.Child("name"), ""))
		case seen[c.Name]:
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		default:
			for _, msg := range validation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
		}
		seen[c.Name] = true
		if c.Expression == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
			continue
		}
		result := compiler().CompileCELExpression(&matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression},
			plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.StoredExpressions)
		if result.Error != nil {
			errs = append(errs, field.Invalid(cp.Child("expression"), c.Expression, "compilation failed: "+result.Error.Detail))
		}
	}
	return errs
}
