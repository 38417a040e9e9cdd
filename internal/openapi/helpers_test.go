package openapi

import (
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/podium/podium/internal/registry"
)

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

func newResource(group, kind, plural string, namespaced bool, obj, list runtime.Object, subs ...string) Resource {
	return Resource{
		Info: registry.Info{Group: group, Version: "v1", Kind: kind, ListKind: kind + "List", Resource: plural,
			Namespaced: namespaced, Subresources: subs},
		Object: obj, List: list, Verbs: allVerbs,
	}
}

// testResources is a set of resources like the ones podium serves.
func testResources() []Resource {
	return []Resource{
		newResource("", "Pod", "pods", true, &corev1.Pod{}, &corev1.PodList{},
			"status", "binding", "eviction", "log", "exec", "attach", "portforward", "ephemeralcontainers"),
		newResource("", "Node", "nodes", false, &corev1.Node{}, &corev1.NodeList{}, "status", "proxy"),
		newResource("", "Namespace", "namespaces", false, &corev1.Namespace{}, &corev1.NamespaceList{}, "status", "finalize"),
		newResource("", "Service", "services", true, &corev1.Service{}, &corev1.ServiceList{}, "status", "proxy"),
		newResource("", "Endpoints", "endpoints", true, &corev1.Endpoints{}, &corev1.EndpointsList{}),
		newResource("", "ConfigMap", "configmaps", true, &corev1.ConfigMap{}, &corev1.ConfigMapList{}),
		newResource("", "Secret", "secrets", true, &corev1.Secret{}, &corev1.SecretList{}),
		newResource("", "ServiceAccount", "serviceaccounts", true, &corev1.ServiceAccount{}, &corev1.ServiceAccountList{}, "token"),
		newResource("", "Event", "events", true, &corev1.Event{}, &corev1.EventList{}),
		newResource("events.k8s.io", "Event", "events", true, &eventsv1.Event{}, &eventsv1.EventList{}),
		newResource("coordination.k8s.io", "Lease", "leases", true, &coordinationv1.Lease{}, &coordinationv1.LeaseList{}),
		newResource("apps", "Deployment", "deployments", true, &appsv1.Deployment{}, &appsv1.DeploymentList{}, "status", "scale"),
	}
}

// documents is every generated document, for tests that inspect them.
type documents struct {
	v2 *spec.Swagger
	v3 map[string]*spec3.OpenAPI // by group-version name: "api/v1"
}

func build(resources []Resource) (*documents, error) {
	p, err := newPlan(resources)
	if err != nil {
		return nil, err
	}
	v2, err := p.swagger()
	if err != nil {
		return nil, err
	}
	v3, err := p.openAPIV3()
	if err != nil {
		return nil, err
	}
	return &documents{v2: v2, v3: v3}, nil
}

func (d *documents) groupVersions() []string {
	return slices.Sorted(maps.Keys(d.v3))
}
