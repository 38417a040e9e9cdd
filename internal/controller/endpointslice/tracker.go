package endpointslice

import discoveryv1 "k8s.io/api/discovery/v1"

// serviceKey is the key of the Service s belongs to, by its service-name label: the
// owner key of the controller's slicetracker.
func serviceKey(s *discoveryv1.EndpointSlice) string {
	return s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
}
