// Package customresource turns a CustomResourceDefinition into what the API server
// serves for it: one registry strategy per served version, whose objects are
// unstructured and stored as JSON in the storage version.
//
// The behaviour is apiextensions-apiserver's, used as its handler uses it: the
// structural schema of each version prunes unknown fields and fills defaults; upstream's
// custom resource strategy validates against the OpenAPI schema, list types, embedded
// resources and x-kubernetes-validations CEL rules (with transition rules and cost
// limits), and keeps status and generation as the status subresource asks; its table
// convertor makes the additionalPrinterColumns; its converter changes versions, with
// strategy None or by calling the conversion webhook. The scale subresource reads and
// writes the paths the definition names.
package customresource
