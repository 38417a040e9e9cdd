package webhookconfiguration

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"
)

func TestValidate(t *testing.T) {
	none := admissionregistrationv1.SideEffectClassNone
	good := func() admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{Name: "a.example.com", SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://example.com/x")},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{"CREATE"},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}
	}
	s := NewValidating()
	for name, tc := range map[string]struct {
		change func(*admissionregistrationv1.ValidatingWebhook)
		want   string
	}{
		"valid":           {change: func(*admissionregistrationv1.ValidatingWebhook) {}},
		"no target":       {change: func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = nil }, want: "exactly one of url or service is required"},
		"http":            {change: func(w *admissionregistrationv1.ValidatingWebhook) { w.ClientConfig.URL = ptr.To("http://example.com") }, want: "'https' is the only allowed URL scheme"},
		"no side effects": {change: func(w *admissionregistrationv1.ValidatingWebhook) { w.SideEffects = nil }, want: "webhooks[0].sideEffects: Required value"},
		"long timeout":    {change: func(w *admissionregistrationv1.ValidatingWebhook) { w.TimeoutSeconds = ptr.To[int32](31) }, want: "between 1 and 30 seconds"},
		"bad operation": {change: func(w *admissionregistrationv1.ValidatingWebhook) {
			w.Rules[0].Operations = []admissionregistrationv1.OperationType{"PATCH"}
		}, want: `webhooks[0].rules[0].operations[0]: Unsupported value: "PATCH"`},
		"unqualified name": {change: func(w *admissionregistrationv1.ValidatingWebhook) { w.Name = "short" }, want: "webhooks[0].name"},
		"old review only":  {change: func(w *admissionregistrationv1.ValidatingWebhook) { w.AdmissionReviewVersions = []string{"v0"} }, want: "must include at least one of v1, v1beta1"},
	} {
		t.Run(name, func(t *testing.T) {
			w := good()
			tc.change(&w)
			c := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{w}}
			s.Default(c)
			errs := s.Validate(c).ToAggregate()
			if (errs == nil) != (tc.want == "") || errs != nil && !strings.Contains(errs.Error(), tc.want) {
				t.Errorf("Validate: %v, want %q", errs, tc.want)
			}
		})
	}
	// Upstream's defaults.
	c := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{good()}}
	s.Default(c)
	w := c.Webhooks[0]
	if *w.FailurePolicy != admissionregistrationv1.Fail || *w.MatchPolicy != admissionregistrationv1.Equivalent || *w.TimeoutSeconds != 10 ||
		w.NamespaceSelector == nil || *w.Rules[0].Scope != admissionregistrationv1.AllScopes {
		t.Errorf("defaults: %+v", w)
	}
}
