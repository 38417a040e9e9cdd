// Package openapi provides the OpenAPI documents of the resources podium serves:
// /openapi/v2 (JSON and the protobuf form older kubectl asks for) and /openapi/v3
// (an index plus one document per group version, as kubectl explain and apply
// validation read them).
//
// The schemas are generated at start-up by walking the k8s.io/api Go types with
// reflection: definition names, descriptions (from the types' SwaggerDoc methods),
// patch strategies and the x-kubernetes-group-version-kind of served kinds follow
// upstream's generated documents. The paths list the operations of each resource
// with upstream's operation IDs, x-kubernetes-action and parameters; every write
// carries the fieldValidation parameter, so kubectl leaves validation to the server.
//
// Required fields are approximated from JSON tags (no omitempty or omitzero, not a
// pointer), minus the fields the Go sources mark +optional, erring towards optional
// so client-side validation never rejects a manifest the server accepts.
//
// Serving uses kube-openapi: its handler3 package for v3 and its cached values and
// gnostic's protobuf conversion for v2, with the same media types and ETags as its
// handler package.
package openapi
