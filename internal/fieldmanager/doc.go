// Package fieldmanager keeps metadata.managedFields, the record of which client (field
// manager) set which fields of an object, and merges server-side apply requests, for
// every resource the API server serves.
//
// The work is apimachinery's managedfields package, as kube-apiserver uses it: one
// FieldManager per kind and subresource, with the structured-merge-diff schemas of the
// built-in types that client-go carries (their list types, map keys and atomic
// structs). This package only builds those managers, names the fields each endpoint may
// not set (a write of the object ignores its status, a status write its spec), and
// derives a request's manager from its fieldManager parameter or User-Agent.
package fieldmanager
