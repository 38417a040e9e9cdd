package server

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/podium/podium/internal/admission"
	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/registry"
)

// extensionAdmission puts the admission that users extend (webhooks and policies)
// behind the other admitters of every resource. The plugins read their configurations
// and the namespaces through the returned informer factory, which the caller starts
// once the server serves.
func extensionAdmission(api *apiserver.Server, strats []registry.Strategy, scheme *runtime.Scheme, restCfg *rest.Config,
	authorizer auth.Authorizer, quotas quotav1.Configuration, stop <-chan struct{}) (informers.SharedInformerFactory, error) {
	rc := rest.CopyConfig(restCfg)
	rc.UserAgent = "podium-admission"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	ext, err := admission.NewExtensions(admission.ExtensionsConfig{
		Client: client, Dynamic: dyn, Informers: factory, Scheme: scheme,
		RESTMapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		Resolver:   serviceEndpoints{api: api}, Authorizer: authorizer, Stop: stop,
		Any: func(resource string) bool {
			return len(api.Cached(schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: resource})) > 0
		},
		Quota:    quotas,
		AnyQuota: func() bool { return len(api.Cached(schema.GroupResource{Resource: "resourcequotas"})) > 0 },
	})
	if err != nil {
		return nil, err
	}
	for _, st := range strats {
		i := st.Info()
		api.AlsoAdmit(schema.GroupResource{Group: i.Group, Resource: i.Resource}, ext.For(i.GroupVersionResource(), i.GroupVersionKind(), i.Namespaced))
	}
	api.AdmitCustom(func(i registry.Info) apiserver.Admitter {
		return ext.For(i.GroupVersionResource(), i.GroupVersionKind(), i.Namespaced)
	})
	return factory, nil
}

// serviceEndpoints resolves a webhook's Service to one of its ready endpoints, as
// upstream's aggregator does with endpoint routing: the server need not be a node to
// reach it, only to route to the pod network.
type serviceEndpoints struct{ api *apiserver.Server }

func (s serviceEndpoints) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	obj, ok := s.api.CachedObject(schema.GroupResource{Resource: "services"}, namespace, name)
	if !ok {
		return nil, fmt.Errorf("service %s/%s not found", namespace, name)
	}
	svc := obj.(*corev1.Service)
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return nil, fmt.Errorf("service %s/%s has no port %d", namespace, name, port)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return &url.URL{Scheme: "https", Host: net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(port)))}, nil
	}
	for _, o := range s.api.CachedIn(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, namespace) {
		slice, ok := o.(*discoveryv1.EndpointSlice)
		if !ok || slice.Labels[discoveryv1.LabelServiceName] != name {
			continue
		}
		for _, p := range slice.Ports {
			if p.Port == nil || p.Name == nil || *p.Name != sp.Name {
				continue
			}
			for _, ep := range slice.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready || len(ep.Addresses) == 0 {
					continue
				}
				return &url.URL{Scheme: "https", Host: net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*p.Port)))}, nil
			}
		}
	}
	return nil, fmt.Errorf("service %s/%s has no ready endpoint for port %d", namespace, name, port)
}
