package disruption

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// scaleReader reads the scale subresource of a controller: it maps an apiVersion and
// kind to a resource that has one, and reads the Scale of the named object. An object
// that does not exist is NotFound; a resource without the subresource is an error.
type scaleReader func(ctx context.Context, apiVersion, kind, namespace, name string) (*autoscalingv1.Scale, error)

// scaleOf returns the UID and replicas of the controller ref names in namespace, and
// whether it was found with that UID. The workload kinds are read from the listers
// (a ReplicaSet a Deployment controls counts as the Deployment); anything else through
// its scale subresource.
func (c *Controller) scaleOf(ctx context.Context, ref *metav1.OwnerReference, namespace string) (types.UID, int32, bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", 0, false, err
	}
	isApps := gv.Group == "apps" || gv.Group == "extensions"
	switch {
	case ref.Kind == "ReplicationController" && gv.Group == "":
		rc, err := c.rcs.ReplicationControllers(namespace).Get(ref.Name)
		if err == nil && rc.UID == ref.UID {
			return rc.UID, replicas(rc.Spec.Replicas), true, nil
		}
	case ref.Kind == "ReplicaSet" && isApps:
		rs, err := c.rss.ReplicaSets(namespace).Get(ref.Name)
		if err != nil || rs.UID != ref.UID {
			break
		}
		owner := metav1.GetControllerOf(rs)
		if owner == nil {
			return rs.UID, replicas(rs.Spec.Replicas), true, nil
		}
		if owner.Kind != "Deployment" {
			break
		}
		if ogv, err := schema.ParseGroupVersion(owner.APIVersion); err != nil || (ogv.Group != "apps" && ogv.Group != "extensions") {
			break
		}
		d, err := c.deploys.Deployments(namespace).Get(owner.Name)
		if err == nil && d.UID == owner.UID {
			return d.UID, replicas(d.Spec.Replicas), true, nil
		}
	case ref.Kind == "StatefulSet" && gv.Group == "apps":
		ss, err := c.sets.StatefulSets(namespace).Get(ref.Name)
		if err == nil && ss.UID == ref.UID {
			return ss.UID, replicas(ss.Spec.Replicas), true, nil
		}
	}
	sc, err := c.scales(ctx, ref.APIVersion, ref.Kind, namespace, ref.Name)
	if apierrors.IsNotFound(err) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	if sc.UID != ref.UID {
		return "", 0, false, nil
	}
	return sc.UID, sc.Spec.Replicas, true, nil
}

func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

// discoveryScales reads scales through client's discovery and its REST client.
func discoveryScales(client kubernetes.Interface) scaleReader {
	return func(ctx context.Context, apiVersion, kind, namespace, name string) (*autoscalingv1.Scale, error) {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return nil, err
		}
		list, err := client.Discovery().ServerResourcesForGroupVersion(apiVersion)
		if err != nil {
			return nil, fmt.Errorf("no matches for kind %q in version %q: %w", kind, apiVersion, err)
		}
		resource := ""
		for _, r := range list.APIResources {
			if r.Kind == kind && !strings.Contains(r.Name, "/") {
				resource = r.Name
				break
			}
		}
		if resource == "" {
			return nil, fmt.Errorf("no matches for kind %q in version %q", kind, apiVersion)
		}
		hasScale := slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool {
			return r.Name == resource+"/scale" && r.Kind == "Scale"
		})
		if !hasScale {
			gr := schema.GroupResource{Group: gv.Group, Resource: resource}
			return nil, fmt.Errorf("%s does not implement the scale subresource", gr.String())
		}
		rc := client.Discovery().RESTClient()
		if rc == nil {
			return nil, fmt.Errorf("no REST client to read the scale of %s %s/%s", kind, namespace, name)
		}
		prefix := "/apis/" + apiVersion
		if gv.Group == "" {
			prefix = "/api/" + gv.Version
		}
		data, err := rc.Get().AbsPath(prefix, "namespaces", namespace, resource, name, "scale").
			SetHeader("Accept", "application/json").Do(ctx).Raw()
		if err != nil {
			return nil, err
		}
		sc := &autoscalingv1.Scale{}
		if err := json.Unmarshal(data, sc); err != nil {
			return nil, fmt.Errorf("the scale of %s %s/%s: %w", kind, namespace, name, err)
		}
		return sc, nil
	}
}
