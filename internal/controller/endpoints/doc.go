// Package endpoints runs the Endpoints controller: it keeps the core/v1 Endpoints
// object of every Service with a selector listing the Service's pods, as upstream's
// endpoint-controller does.
//
//   - A Service without a selector, or of type ExternalName, is left alone: users
//     write its Endpoints. The Endpoints of a deleted Service are deleted, and at
//     start every Endpoints object is looked at once, so that those of Services
//     deleted while the controller was down go too (leader-election records excepted).
//   - A selected pod is listed when it has an IP of the Service's first IP family
//     and is not terminal; a terminating pod only when the Service publishes
//     not-ready addresses. Ready pods go in addresses, the others in
//     notReadyAddresses (publishNotReadyAddresses puts all in addresses), each with
//     its node, a Pod targetRef and, when spec.subdomain names the Service, its
//     hostname.
//   - Each Service port is resolved per pod (a number, or a named container port of
//     the same protocol); a pod without the named port is left out of that port.
//     Subsets are then repacked (RepackSubsets): addresses offering the same ports
//     share one subset, and everything is sorted so that equal content is equal
//     objects.
//   - At most 1000 addresses are kept, ready ones first, spread over the subsets in
//     proportion; a truncated object carries endpoints.kubernetes.io/over-capacity:
//     truncated.
//   - Labels are the Service's plus service.kubernetes.io/headless on headless
//     Services; endpoints.kubernetes.io/last-change-trigger-time records the
//     earliest pod readiness change or Service creation not yet written. Nothing is
//     written when subsets, labels and the capacity annotation already match.
//
// Events are upstream's: FailedToCreateEndpoint and FailedToUpdateEndpoint.
package endpoints
