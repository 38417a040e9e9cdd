// Package endpointslicemirroring runs the EndpointSlice mirroring controller: it
// copies custom Endpoints (those of Services without a selector) into
// EndpointSlices, as upstream's endpointslicemirroring-controller does, so that
// consumers of EndpointSlices see them.
//
//   - An Endpoints object is mirrored when its Service exists and has no selector,
//     it is not labelled endpointslice.kubernetes.io/skip-mirror=true and it is not a
//     leader-election record. Otherwise, and when it or its Service is deleted, the
//     slices mirrored for it are deleted.
//   - The subsets are first repacked (endpoints.RepackSubsets); then one slice is kept
//     for each address type and set of ports. Ready addresses become endpoints with
//     ready true, not-ready ones ready false; targetRef, nodeName and hostname are
//     copied. Addresses that are not IPs are skipped (event InvalidIPAddress); at most
//     1000 addresses of a subset are mirrored (event TooManyAddressesToMirror).
//   - Mirrored slices carry the Endpoints' labels with kubernetes.io/service-name and
//     endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io,
//     its annotations but endpoints.kubernetes.io/last-change-trigger-time and
//     kubectl's last-applied-configuration, and a controller reference to the
//     Endpoints. A slice already matching is not written; a slice no longer needed is
//     reused for a new one of the same address type rather than deleted.
//   - The controller remembers the generation of each slice it wrote and does not act
//     on a cache older than its own writes.
package endpointslicemirroring
