package ingress

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func serviceBackend(name string, port int32) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}}
}

func httpPath(pathType networkingv1.PathType, path string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: path, PathType: &pathType, Backend: serviceBackend("web", 80)}
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

// newIngress returns a valid Ingress sending example.com/ to the web service.
func newIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("nginx"),
			Rules:            []networkingv1.IngressRule{rule("example.com", httpPath(networkingv1.PathTypePrefix, "/"))},
		},
	}
}

// newClass returns a valid IngressClass with cluster-scoped parameters.
func newClass() *networkingv1.IngressClass {
	return &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec: networkingv1.IngressClassSpec{
			Controller: "k8s.io/ingress-nginx",
			Parameters: &networkingv1.IngressClassParametersReference{
				APIGroup: ptr.To("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb",
			},
		},
	}
}

func TestInfo(t *testing.T) {
	tests := []struct {
		name     string
		strategy registry.Strategy
		want     registry.Info
	}{
		{
			name:     "ingresses",
			strategy: NewIngresses(),
			want: registry.Info{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress", ListKind: "IngressList",
				Resource: "ingresses", Singular: "ingress", ShortNames: []string{"ing"}, Namespaced: true, Subresources: []string{"status"}},
		},
		{
			name:     "ingress classes",
			strategy: NewIngressClasses(),
			want: registry.Info{Group: "networking.k8s.io", Version: "v1", Kind: "IngressClass", ListKind: "IngressClassList",
				Resource: "ingressclasses", Singular: "ingressclass"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.strategy.Info(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Info = %+v, want %+v", got, tt.want)
			}
			if msgs := tt.strategy.ValidateName("web.example-1", false); len(msgs) != 0 {
				t.Errorf("ValidateName: %v", msgs)
			}
			if msgs := tt.strategy.ValidateName("Web_Ingress", false); len(msgs) == 0 {
				t.Error("ValidateName accepted a name that is no DNS subdomain")
			}
		})
	}
}

func TestFields(t *testing.T) {
	if got, want := NewIngresses().Fields(newIngress()), (fields.Set{"metadata.name": "web", "metadata.namespace": "default"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Ingress Fields = %v, want %v", got, want)
	}
	if got, want := NewIngressClasses().Fields(newClass()), (fields.Set{"metadata.name": "nginx"}); !reflect.DeepEqual(got, want) {
		t.Errorf("IngressClass Fields = %v, want %v", got, want)
	}
}

func TestValidateIngress(t *testing.T) {
	exact, prefix, specific := networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific
	tests := []struct {
		name   string
		change func(*networkingv1.Ingress)
		want   []fieldError
	}{
		{name: "valid", change: func(*networkingv1.Ingress) {}},
		{
			name: "default backend only",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.Rules = nil
				ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{
					APIGroup: ptr.To("k8s.example.com"), Kind: "StorageBucket", Name: "static-assets",
				}}
			},
		},
		{
			name: "every kind of path",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.Rules = []networkingv1.IngressRule{
					rule("*.example.com", httpPath(exact, "/login"), httpPath(prefix, "/api/"), httpPath(specific, ""), httpPath(specific, "/x//y")),
					{Host: "bare.example.com"},
					rule("", httpPath(prefix, "/")),
				}
				ing.Spec.Rules[0].HTTP.Paths[1].Backend = serviceBackend("1st-service", 0)
				ing.Spec.Rules[0].HTTP.Paths[1].Backend.Service.Port.Name = "http"
				ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"*.example.com", "example.com"}, SecretName: "tls"}, {}}
			},
		},
		{
			name:   "nothing to route",
			change: func(ing *networkingv1.Ingress) { ing.Spec.Rules = nil },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec"}},
		},
		{
			name: "hosts",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.Rules = []networkingv1.IngressRule{
					rule("10.0.0.1", httpPath(prefix, "/")),
					rule("Example.com", httpPath(prefix, "/")),
					rule("foo.*.example.com", httpPath(prefix, "/")),
					rule("*", httpPath(prefix, "/")),
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.rules[0].host"},
				{field.ErrorTypeInvalid, "spec.rules[1].host"},
				{field.ErrorTypeInvalid, "spec.rules[2].host"},
				{field.ErrorTypeInvalid, "spec.rules[3].host"},
			},
		},
		{
			name: "paths",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.Rules = []networkingv1.IngressRule{
					rule("example.com",
						httpPath(exact, "login"),
						httpPath(prefix, "/a//b/.."),
						httpPath(specific, "relative"),
						httpPath("Regex", "/.*"),
						networkingv1.HTTPIngressPath{Path: "/", Backend: serviceBackend("web", 80)},
					),
					rule("empty.example.com"),
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[0].path"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[1].path"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[1].path"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[2].path"},
				{field.ErrorTypeNotSupported, "spec.rules[0].http.paths[3].pathType"},
				{field.ErrorTypeRequired, "spec.rules[0].http.paths[4].pathType"},
				{field.ErrorTypeRequired, "spec.rules[1].http.paths"},
			},
		},
		{
			name: "backends",
			change: func(ing *networkingv1.Ingress) {
				both := serviceBackend("web", 80)
				both.Resource = &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}
				named := serviceBackend("Web_Service", 8080)
				named.Service.Port.Name = "http"
				ing.Spec.DefaultBackend = &networkingv1.IngressBackend{}
				ing.Spec.Rules[0].HTTP.Paths = []networkingv1.HTTPIngressPath{
					{Path: "/a", PathType: &prefix, Backend: both},
					{Path: "/b", PathType: &prefix, Backend: named},
					{Path: "/c", PathType: &prefix, Backend: serviceBackend("", 0)},
					{Path: "/d", PathType: &prefix, Backend: serviceBackend("web", 70000)},
					{Path: "/e", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http_alt"}}}},
					{Path: "/f", PathType: &prefix, Backend: networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("Bad_Group"), Name: "a/b"}}},
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.defaultBackend"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[0].backend"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[1].backend.service.name"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[1].backend"},
				{field.ErrorTypeRequired, "spec.rules[0].http.paths[2].backend.service.name"},
				{field.ErrorTypeRequired, "spec.rules[0].http.paths[2].backend"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[3].backend.service.port.number"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[4].backend.service.port.name"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[5].backend.resource.apiGroup"},
				{field.ErrorTypeRequired, "spec.rules[0].http.paths[5].backend.resource.kind"},
				{field.ErrorTypeInvalid, "spec.rules[0].http.paths[5].backend.resource.name"},
			},
		},
		{
			name: "tls and class",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"ok.example.com", "*.*.example.com", "Bad_Host"}, SecretName: "Bad_Secret"}}
				ing.Spec.IngressClassName = ptr.To("Nginx")
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.tls[0].hosts[1]"},
				{field.ErrorTypeInvalid, "spec.tls[0].hosts[2]"},
				{field.ErrorTypeInvalid, "spec.tls[0].secretName"},
				{field.ErrorTypeInvalid, "spec.ingressClassName"},
			},
		},
		{
			name: "class annotation agrees",
			change: func(ing *networkingv1.Ingress) {
				ing.Annotations = map[string]string{"kubernetes.io/ingress.class": "nginx"}
			},
		},
		{
			name: "class annotation alone",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.IngressClassName = nil
				ing.Annotations = map[string]string{"kubernetes.io/ingress.class": "anything"}
			},
		},
		{
			name: "class annotation disagrees",
			change: func(ing *networkingv1.Ingress) {
				ing.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
			},
			want: []fieldError{{field.ErrorTypeInvalid, "annotations.kubernetes.io/ingress.class"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewIngresses()
			ing := newIngress()
			tt.change(ing)
			s.PrepareForCreate(ing)
			s.Default(ing)
			if got := summarize(s.Validate(ing)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIngressMessages(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	ing := newIngress()
	ing.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
	ing.Spec.Rules = []networkingv1.IngressRule{
		rule("1.2.3.4", httpPath(prefix, "/a/%2F/")),
		rule("x", httpPath("Glob", "/"), networkingv1.HTTPIngressPath{Path: "/", PathType: &prefix}),
	}
	ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http", Number: 80}}}
	want := []string{
		`spec.defaultBackend: Invalid value: "": cannot set both port name & port number`,
		`spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address`,
		`spec.rules[0].http.paths[0].path: Invalid value: "/a/%2F/": must not contain '%2F'`,
		`spec.rules[1].http.paths[0].pathType: Unsupported value: "Glob": supported values: "Exact", "ImplementationSpecific", "Prefix"`,
		`spec.rules[1].http.paths[1].backend: Invalid value: "": resource or service backend is required`,
		"annotations.kubernetes.io/ingress.class: Invalid value: \"traefik\": must match `ingressClassName` when both are specified",
	}
	if got := messages(NewIngresses().Validate(ing)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant:\n%q", got, want)
	}

	empty := newIngress()
	empty.Spec.Rules = []networkingv1.IngressRule{}
	want = []string{"spec: Invalid value: []: either `defaultBackend` or `rules` must be specified"}
	if got := messages(NewIngresses().Validate(empty)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant:\n%q", got, want)
	}
}

// TestValidateIngressUpdate: an update is checked as a create, except that invalid TLS
// secret names and invalid rules under wildcard hosts already stored may stay, and the
// class annotation is not compared again.
func TestValidateIngressUpdate(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	withSecret := func(name string) *networkingv1.Ingress {
		ing := newIngress()
		ing.Spec.TLS = []networkingv1.IngressTLS{{SecretName: name}}
		return ing
	}
	withWildcardRule := func(path string) *networkingv1.Ingress {
		ing := newIngress()
		ing.Spec.Rules = append(ing.Spec.Rules, rule("*.example.com", httpPath(prefix, path)))
		return ing
	}
	// A service name that is a DNS-1123 label but no DNS-1035 one: valid today, but it
	// makes a stored wildcard rule count as invalid, as upstream's check still does.
	digitService := withWildcardRule("/")
	digitService.Spec.Rules[1].HTTP.Paths[0].Backend = serviceBackend("1web", 80)
	annotated := newIngress()
	annotated.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
	tests := []struct {
		name string
		next *networkingv1.Ingress
		old  *networkingv1.Ingress
		want []fieldError
	}{
		{name: "valid", next: newIngress(), old: newIngress()},
		{name: "stored bad secret kept", next: withSecret("Other_Secret"), old: withSecret("Bad_Secret")},
		{name: "bad secret introduced", next: withSecret("Bad_Secret"), old: withSecret("good"), want: []fieldError{{field.ErrorTypeInvalid, "spec.tls[0].secretName"}}},
		{name: "stored bad wildcard rule kept", next: withWildcardRule("nope"), old: withWildcardRule("relative")},
		{name: "bad wildcard rule introduced", next: withWildcardRule("nope"), old: withWildcardRule("/"), want: []fieldError{{field.ErrorTypeInvalid, "spec.rules[1].http.paths[0].path"}}},
		{name: "stored DNS-1123 service under a wildcard", next: withWildcardRule("nope"), old: digitService},
		{name: "other rules still checked", next: func() *networkingv1.Ingress {
			ing := withWildcardRule("nope")
			ing.Spec.Rules[0].HTTP.Paths[0].Path = "nope"
			return ing
		}(), old: withWildcardRule("relative"), want: []fieldError{{field.ErrorTypeInvalid, "spec.rules[0].http.paths[0].path"}}},
		{name: "annotation not compared", next: annotated, old: annotated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewIngresses()
			next := tt.next.DeepCopy()
			s.PrepareForUpdate(next, tt.old)
			s.Default(next)
			if got := summarize(s.ValidateUpdate(next, tt.old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestIngressStatus: a create drops the status and starts the generation; an update
// keeps the status and bumps the generation on spec changes only; a status write keeps
// the spec and has its load balancer checked.
func TestIngressStatus(t *testing.T) {
	s := NewIngresses()
	lb := networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.10"}}}
	ing := newIngress()
	ing.Generation = 9
	ing.Status.LoadBalancer = lb
	s.PrepareForCreate(ing)
	s.Default(ing)
	if ing.Generation != 1 || len(ing.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("after create: generation %d, status %+v", ing.Generation, ing.Status)
	}
	ing.Status.LoadBalancer = lb

	relabelled := ing.DeepCopy()
	relabelled.Labels = map[string]string{"a": "b"}
	relabelled.Status = networkingv1.IngressStatus{}
	s.PrepareForUpdate(relabelled, ing)
	if relabelled.Generation != 1 || !reflect.DeepEqual(relabelled.Status.LoadBalancer, lb) {
		t.Errorf("after a metadata update: generation %d, status %+v", relabelled.Generation, relabelled.Status)
	}

	changed := ing.DeepCopy()
	changed.Spec.Rules[0].Host = "www.example.com"
	s.PrepareForUpdate(changed, ing)
	if changed.Generation != 2 || !reflect.DeepEqual(changed.Status.LoadBalancer, lb) {
		t.Errorf("after a spec update: generation %d, status %+v", changed.Generation, changed.Status)
	}

	status := ing.DeepCopy()
	status.Spec.Rules = nil
	status.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: "lb.example.com", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP}}}}
	s.PrepareForStatusUpdate(status, ing)
	if !reflect.DeepEqual(status.Spec, ing.Spec) || status.Status.LoadBalancer.Ingress[0].Hostname != "lb.example.com" {
		t.Errorf("after a status update: spec %+v, status %+v", status.Spec, status.Status)
	}
	if errs := s.ValidateStatusUpdate(status, ing); len(errs) != 0 {
		t.Errorf("ValidateStatusUpdate: %v", errs)
	}
}

func TestValidateIngressStatus(t *testing.T) {
	points := func(p ...networkingv1.IngressLoadBalancerIngress) *networkingv1.Ingress {
		ing := newIngress()
		ing.Status.LoadBalancer.Ingress = p
		return ing
	}
	tests := []struct {
		name string
		next *networkingv1.Ingress
		old  *networkingv1.Ingress
		want []string
	}{
		{name: "valid", next: points(networkingv1.IngressLoadBalancerIngress{IP: "2001:db8::1"}, networkingv1.IngressLoadBalancerIngress{Hostname: "lb.example.com"}), old: points()},
		{
			name: "bad points",
			next: points(
				networkingv1.IngressLoadBalancerIngress{IP: "not-an-ip"},
				networkingv1.IngressLoadBalancerIngress{IP: "010.0.0.1"},
				networkingv1.IngressLoadBalancerIngress{Hostname: "10.0.0.1"},
				networkingv1.IngressLoadBalancerIngress{Hostname: "LB_Host"},
			),
			old: points(),
			want: []string{
				`status.loadBalancer.ingress[0].ip: Invalid value: "not-an-ip": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
				`status.loadBalancer.ingress[1].ip: Invalid value: "010.0.0.1": must not have leading 0s`,
				`status.loadBalancer.ingress[2].hostname: Invalid value: "10.0.0.1": must be a DNS name, not an IP address`,
				`status.loadBalancer.ingress[3].hostname: Invalid value: "LB_Host": a lowercase RFC 1123 subdomain must consist of`,
			},
		},
		{
			name: "stored legacy IP kept",
			next: points(networkingv1.IngressLoadBalancerIngress{IP: "010.0.0.1"}, networkingv1.IngressLoadBalancerIngress{IP: "192.0.2.1"}),
			old:  points(networkingv1.IngressLoadBalancerIngress{IP: "010.0.0.1"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewIngresses()
			next := tt.next.DeepCopy()
			s.PrepareForStatusUpdate(next, tt.old)
			s.Default(next)
			got := messages(s.ValidateStatusUpdate(next, tt.old))
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%q\nwant:\n%q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want it to start with %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestIngressTable(t *testing.T) {
	s := NewIngresses()
	base := newIngress()
	base.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Minute))
	tests := []struct {
		name   string
		change func(*networkingv1.Ingress)
		want   []interface{}
	}{
		{name: "one host", change: func(*networkingv1.Ingress) {}, want: []interface{}{"web", "nginx", "example.com", "", "80", "5m"}},
		{
			name: "no class, no host, TLS",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.IngressClassName = nil
				ing.Spec.Rules = []networkingv1.IngressRule{{}}
				ing.Spec.TLS = []networkingv1.IngressTLS{{}}
			},
			want: []interface{}{"web", "<none>", "*", "", "80, 443", "5m"},
		},
		{
			name: "three hosts among more rules",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.Rules = []networkingv1.IngressRule{{Host: "a.com"}, {}, {Host: "b.com"}, {Host: "c.com"}}
			},
			want: []interface{}{"web", "nginx", "a.com,b.com,c.com", "", "80", "5m"},
		},
		{
			name: "more than three hosts",
			change: func(ing *networkingv1.Ingress) {
				ing.Spec.Rules = []networkingv1.IngressRule{{Host: "a.com"}, {Host: "b.com"}, {Host: "c.com"}, {Host: "d.com"}, {}}
			},
			want: []interface{}{"web", "nginx", "a.com,b.com,c.com + 2 more...", "", "80", "5m"},
		},
		{
			name: "addresses",
			change: func(ing *networkingv1.Ingress) {
				ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{
					{IP: "192.0.2.10", Hostname: "ignored.example.com"},
					{Hostname: "lb.example.com"},
					{IP: "192.0.2.10"},
					{IP: "10.0.0.1"},
					{},
				}
			},
			want: []interface{}{"web", "nginx", "example.com", "10.0.0.1,192.0.2.10,lb.example.com", "80", "5m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := base.DeepCopy()
			tt.change(ing)
			if got := s.Row(ing, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
	if got, want := columnNames(s.Columns()), []string{"Name", "Class", "Hosts", "Address", "Ports", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
}

func TestIngressClassDefault(t *testing.T) {
	s := NewIngressClasses()
	ic := newClass()
	s.Default(ic)
	if got := ic.Spec.Parameters.Scope; got == nil || *got != "Cluster" {
		t.Errorf("scope %v, want Cluster", got)
	}
	ic.Spec.Parameters.Scope = ptr.To("Namespace")
	s.Default(ic)
	if got := *ic.Spec.Parameters.Scope; got != "Namespace" {
		t.Errorf("scope %q, want Namespace kept", got)
	}
	bare := &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "example.com/lb"}}
	s.Default(bare)
	if bare.Spec.Parameters != nil {
		t.Errorf("parameters %+v added", bare.Spec.Parameters)
	}
}

func TestValidateIngressClass(t *testing.T) {
	tests := []struct {
		name   string
		change func(*networkingv1.IngressClass)
		want   []fieldError
	}{
		{name: "valid", change: func(*networkingv1.IngressClass) {}},
		{name: "no parameters", change: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters = nil }},
		{
			name: "namespaced parameters",
			change: func(ic *networkingv1.IngressClass) {
				ic.Spec.Parameters.Scope = ptr.To("Namespace")
				ic.Spec.Parameters.Namespace = ptr.To("ingress")
			},
		},
		{
			name:   "no controller",
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "" },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.controller"}},
		},
		{
			name:   "controller without domain",
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "ingress-nginx" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.controller"}},
		},
		{
			name:   "controller too long",
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "example.com/" + strings.Repeat("a", 240) },
			want:   []fieldError{{field.ErrorTypeTooLong, "spec.controller"}},
		},
		{
			name: "bad parameters",
			change: func(ic *networkingv1.IngressClass) {
				ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{
					APIGroup: ptr.To("Bad_Group"), Kind: "a/b", Name: "..", Scope: ptr.To("Global"),
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.parameters.apiGroup"},
				{field.ErrorTypeInvalid, "spec.parameters.kind"},
				{field.ErrorTypeInvalid, "spec.parameters.name"},
				{field.ErrorTypeNotSupported, "spec.parameters.scope"},
			},
		},
		{
			name: "namespace scope without namespace",
			change: func(ic *networkingv1.IngressClass) {
				ic.Spec.Parameters.Scope = ptr.To("Namespace")
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.parameters.namespace"}},
		},
		{
			name: "bad namespace",
			change: func(ic *networkingv1.IngressClass) {
				ic.Spec.Parameters.Scope = ptr.To("Namespace")
				ic.Spec.Parameters.Namespace = ptr.To("Ingress.NS")
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.parameters.namespace"}},
		},
		{
			name:   "cluster scope with namespace",
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Namespace = ptr.To("ingress") },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec.parameters.namespace"}},
		},
		{
			// The declarative requirements of kind and name come last.
			name: "no kind, no name",
			change: func(ic *networkingv1.IngressClass) {
				ic.Spec.Controller = "nginx"
				ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("Bad_Group"), Namespace: ptr.To("x")}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.controller"},
				{field.ErrorTypeInvalid, "spec.parameters.apiGroup"},
				{field.ErrorTypeForbidden, "spec.parameters.namespace"},
				{field.ErrorTypeRequired, "spec.parameters.kind"},
				{field.ErrorTypeRequired, "spec.parameters.name"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewIngressClasses()
			ic := newClass()
			tt.change(ic)
			s.PrepareForCreate(ic)
			s.Default(ic)
			if got := summarize(s.Validate(ic)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIngressClassMessages(t *testing.T) {
	ic := newClass()
	ic.Spec.Controller = "example.com/bad path"
	ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{Name: "p", Scope: ptr.To("Global")}
	want := []string{
		`spec.controller: Invalid value: "bad path": Invalid path (regex used for validation is `,
		`spec.parameters.scope: Unsupported value: "Global": supported values: "Cluster", "Namespace"`,
		`spec.parameters.kind: Required value`,
	}
	got := messages(NewIngressClasses().Validate(ic))
	if len(got) != len(want) {
		t.Fatalf("errors:\n%q\nwant:\n%q", got, want)
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}

	ic = newClass()
	ic.Spec.Controller = strings.Repeat("a", 251)
	ic.Spec.Parameters.Scope = ptr.To("Namespace")
	want = []string{
		"spec.controller: Too long: may not be more than 250 bytes",
		`spec.controller: Invalid value: "` + ic.Spec.Controller + `": must be a domain-prefixed path (such as "acme.io/foo")`,
		"spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
	}
	if got := messages(NewIngressClasses().Validate(ic)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant:\n%q", got, want)
	}
}

// TestIngressClassUpdate: the controller is immutable; the generation moves with the
// defaulted spec; a kind or name the stored parameters already left empty is reported
// in place rather than last.
func TestIngressClassUpdate(t *testing.T) {
	s := NewIngressClasses()
	stored := newClass()
	s.PrepareForCreate(stored)
	s.Default(stored)
	if stored.Generation != 1 {
		t.Fatalf("generation on create %d", stored.Generation)
	}
	noKind := stored.DeepCopy()
	noKind.Spec.Parameters.Kind = ""
	tests := []struct {
		name   string
		old    *networkingv1.IngressClass
		change func(*networkingv1.IngressClass)
		gen    int64
		want   []fieldError
	}{
		{name: "resent undefaulted", old: stored, change: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Scope = nil }, gen: 1},
		{name: "labels", old: stored, change: func(ic *networkingv1.IngressClass) { ic.Labels = map[string]string{"a": "b"} }, gen: 1},
		{name: "parameters", old: stored, change: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Name = "internal-lb" }, gen: 2},
		{
			name:   "controller",
			old:    stored,
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Controller = "example.com/other" },
			gen:    2,
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.controller"}},
		},
		{
			name: "kind emptied",
			old:  stored,
			change: func(ic *networkingv1.IngressClass) {
				ic.Spec.Parameters.Kind = ""
				ic.Spec.Parameters.Scope = ptr.To("Zone")
			},
			gen:  2,
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.parameters.scope"}, {field.ErrorTypeRequired, "spec.parameters.kind"}},
		},
		{
			name:   "kind left empty",
			old:    noKind,
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.Scope = ptr.To("Zone") },
			gen:    2,
			want:   []fieldError{{field.ErrorTypeRequired, "spec.parameters.kind"}, {field.ErrorTypeNotSupported, "spec.parameters.scope"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.old.DeepCopy()
			tt.change(next)
			s.PrepareForUpdate(next, tt.old)
			s.Default(next)
			if next.Generation != tt.gen {
				t.Errorf("generation %d, want %d", next.Generation, tt.gen)
			}
			if got := summarize(s.ValidateUpdate(next, tt.old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
	if errs := s.ValidateStatusUpdate(stored, stored); len(errs) != 0 {
		t.Errorf("ValidateStatusUpdate: %v", errs)
	}
}

func TestIngressClassTable(t *testing.T) {
	s := NewIngressClasses()
	base := newClass()
	base.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	tests := []struct {
		name   string
		change func(*networkingv1.IngressClass)
		want   []interface{}
	}{
		{name: "grouped parameters", change: func(*networkingv1.IngressClass) {}, want: []interface{}{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "3h"}},
		{
			name:   "core parameters",
			change: func(ic *networkingv1.IngressClass) { ic.Spec.Parameters.APIGroup = nil },
			want:   []interface{}{"nginx", "k8s.io/ingress-nginx", "IngressParameters/external-lb", "3h"},
		},
		{
			name: "default class",
			change: func(ic *networkingv1.IngressClass) {
				ic.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
				ic.Spec.Parameters = nil
			},
			want: []interface{}{"nginx (default)", "k8s.io/ingress-nginx", "<none>", "3h"},
		},
		{
			name: "not quite default",
			change: func(ic *networkingv1.IngressClass) {
				ic.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "True"}
			},
			want: []interface{}{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "3h"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic := base.DeepCopy()
			tt.change(ic)
			if got := s.Row(ic, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
	if got, want := columnNames(s.Columns()), []string{"Name", "Controller", "Parameters", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
}

// columnNames returns the columns' names, marking those without a description.
func columnNames(cols []metav1.TableColumnDefinition) []string {
	var names []string
	for _, c := range cols {
		if c.Description == "" {
			names = append(names, c.Name+" (undescribed)")
			continue
		}
		names = append(names, c.Name)
	}
	return names
}
