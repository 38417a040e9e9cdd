// Package endpointslice runs the EndpointSlice controller: for every Service with a
// selector it keeps EndpointSlices listing the selected pods, as upstream's does.
//
//   - A Service is served when it has a non-empty selector and is not of type
//     ExternalName. Its slices carry the labels kubernetes.io/service-name and
//     endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io, the
//     Service's own labels (reserved keys excepted), service.kubernetes.io/headless on
//     headless Services, and a controller reference to the Service. Slices of other
//     managers are never read or written.
//   - Slices exist per address type of the Service's ipFamilies. A pod is listed
//     when it has an IP of that family and is not Succeeded or Failed; terminating
//     pods stay with terminating=true. ready is the pod's Ready condition unless it
//     is terminating, serving is the Ready condition, and publishNotReadyAddresses
//     makes every endpoint ready. nodeName, the node's topology.kubernetes.io/zone and
//     (when spec.subdomain names the Service) the pod's hostname are carried over.
//     With trafficDistribution PreferClose or PreferSameZone a ready endpoint is
//     hinted for its zone, with PreferSameNode also for its node.
//   - The Service's ports are resolved against each pod (a named targetPort is looked
//     up in the containers and sidecars with the same protocol; a pod without it lacks
//     that port); pods with different resolved ports go to different slices, at most
//     100 endpoints a slice. A Service selecting no pods gets one placeholder slice
//     without endpoints or ports.
//   - Writes are minimal: existing slices are updated in place, filled before new ones
//     are made, and an unchanged Service and pod set causes no write.
//   - After writing, the informer cache may lag: every slice generation written and
//     every deletion made is remembered, and a Service whose cached slices are older
//     is looked at again shortly instead of being synced from stale data, so that a
//     burst of pod changes never creates duplicate slices.
//   - Unlike upstream, which leaves them to the garbage collector or keeps them, the
//     controller deletes its slices of a Service that is gone or no longer served.
//
// Events are upstream's: FailedToUpdateEndpointSlices, from endpoint-slice-controller.
package endpointslice
