package storage

import (
	"context"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// maxCSIDriverNameLength is the longest a CSI driver's name may be.
	maxCSIDriverNameLength = 63

	originImmutable     = "immutable"
	originMaxLength     = "maxLength"
	originCaselessName  = "format=k8s-long-name-caseless"
	originQualifiedName = "format=qualified-name"
)

// reported returns the handwritten errors and upstream's declarative ones as its API
// server reports them, with the beta declarative rules enforced: a handwritten error
// repeating an earlier one's message is dropped, one marked as covered gives way to a
// declarative error of the same type, origin and field, and the declarative errors come
// last. Upstream runs every check of these kinds through this, declarative rules or not.
func reported(handwritten, declarative field.ErrorList) field.ErrorList {
	declarative = declarative.MarkBeta()
	errs := validate.FilterCoveredHandwrittenErrors(context.Background(), handwritten, declarative, true)
	return append(errs, declarative...)
}

// immutable is the declarative rules' error for a changed immutable field, which shows
// no value.
func immutable(path *field.Path) *field.Error {
	return field.Invalid(path, nil, apivalidation.FieldImmutableErrorMsg).WithOrigin(originImmutable)
}

// validateImmutable is the handwritten check that a field did not change, covered by a
// declarative rule.
func validateImmutable(value, old interface{}, path *field.Path) field.ErrorList {
	return apivalidation.ValidateImmutableField(value, old, path).WithOrigin(originImmutable).MarkCoveredByDeclarative()
}

// validateCSIDriverName checks the name of a CSI driver used elsewhere (an attacher, a
// CSINode's driver, a CSI volume source): required, at most 63 bytes, and a DNS
// subdomain once lower-cased. With covered, the errors are marked as upstream marks
// those its declarative rules also report.
func validateCSIDriverName(name string, path *field.Path, covered bool) field.ErrorList {
	if name == "" {
		err := field.Required(path, "")
		if covered {
			err = err.MarkCoveredByDeclarative()
		}
		return field.ErrorList{err}
	}
	var errs field.ErrorList
	if len(name) > maxCSIDriverNameLength {
		err := field.TooLong(path, "", maxCSIDriverNameLength)
		if covered {
			err = err.WithOrigin(originMaxLength).MarkCoveredByDeclarative()
		}
		errs = append(errs, err)
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		err := field.Invalid(path, name, msg)
		if covered {
			err = err.WithOrigin(originCaselessName).MarkCoveredByDeclarative()
		}
		errs = append(errs, err)
	}
	return errs
}

// declarativeCSIDriverName is upstream's declarative form of the same check: required;
// else a DNS subdomain in either case, and at most 63 characters.
func declarativeCSIDriverName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range content.IsDNS1123SubdomainCaseless(name) {
		errs = append(errs, field.Invalid(path, name, msg).WithOrigin(originCaselessName))
	}
	if len([]rune(name)) > maxCSIDriverNameLength {
		errs = append(errs, field.TooLongCharacters(path, name, maxCSIDriverNameLength).WithOrigin(originMaxLength))
	}
	return errs
}

// validateQualifiedName checks value as a qualified name ("example.com/name").
func validateQualifiedName(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(path, value, msg).WithOrigin(originQualifiedName))
	}
	return errs
}

// validateDNSSubdomain checks value as a DNS subdomain, as upstream checks object names.
func validateDNSSubdomain(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apivalidation.NameIsDNSSubdomain(value, false) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}
