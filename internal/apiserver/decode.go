package apiserver

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/fieldmanager"
	"github.com/podium/podium/internal/registry"
)

// fieldValidation is the policy for unknown and duplicated fields in a request body.
type fieldValidation string

const (
	validationStrict fieldValidation = "Strict"
	validationWarn   fieldValidation = "Warn"
	validationIgnore fieldValidation = "Ignore"
)

// writeOptions are the query parameters every write shares.
type writeOptions struct {
	dryRun     bool
	validation fieldValidation

	// tracked says the write is recorded in the object's managedFields (every write a
	// client makes; not the server's own, such as an eviction's), as manager's.
	tracked bool
	manager string
	// force is an apply's force parameter: take the fields other managers own.
	force *bool
	// fieldsOf, when set, is the subresource the write's fields are recorded under
	// instead of the request's (a scale write is an update of the object).
	fieldsOf string
}

// optionsKind names the options of a write for its errors, as upstream does.
func optionsKind(method string) schema.GroupKind {
	kind := "CreateOptions"
	switch method {
	case http.MethodPut:
		kind = "UpdateOptions"
	case http.MethodPatch:
		kind = "PatchOptions"
	}
	return schema.GroupKind{Group: metav1.GroupName, Kind: kind}
}

func parseWriteOptions(r *http.Request) (writeOptions, error) {
	q := r.URL.Query()
	opts := writeOptions{validation: validationWarn, tracked: true}
	for _, d := range q["dryRun"] {
		if d != metav1.DryRunAll {
			return opts, apierrors.NewBadRequest(field.NotSupported(field.NewPath("dryRun"), d, []string{metav1.DryRunAll}).Error())
		}
		opts.dryRun = true
	}
	switch v := fieldValidation(q.Get("fieldValidation")); v {
	case "":
	case validationStrict, validationWarn, validationIgnore:
		opts.validation = v
	default:
		return opts, apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %s", v))
	}
	if errs := metav1validation.ValidateFieldManager(q.Get("fieldManager"), field.NewPath("fieldManager")); len(errs) > 0 {
		return opts, apierrors.NewInvalid(optionsKind(r.Method), "", errs)
	}
	opts.manager = fieldmanager.Name(q.Get("fieldManager"), r.UserAgent())
	if f, ok := q["force"]; ok {
		force, err := strconv.ParseBool(f[0])
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("force: %v", err))
		}
		opts.force = &force
	}
	return opts, nil
}

// decodeObject decodes a body of the given Content-Type into a new object of the
// resource's served kind. Unknown and duplicated fields are an error under Strict,
// warnings under Warn, and nothing under Ignore.
func (s *Server) decodeObject(res *resource, contentType string, data []byte, validation fieldValidation) (runtime.Object, []string, error) {
	if err := checkExponents(data); err != nil {
		return nil, nil, err
	}
	lenient, strict, err := s.codecs.decoderFor(contentType)
	if mt, _, _ := mime.ParseMediaType(contentType); err == nil && res.custom && mt != "" && mt != mediaJSON && mt != mediaYAML {
		// Custom resources are read as JSON and YAML only, as upstream reads them.
		err = fmt.Errorf("the body of the request was in an unknown format - accepted media types include: %s, %s", mediaJSON, mediaYAML)
	}
	if err != nil {
		return nil, nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", res.groupResource(), "", err.Error(), 0, false)
	}
	gvk := res.info.GroupVersionKind()
	dec := strict
	if validation == validationIgnore {
		dec = lenient
	}
	cannot := fmt.Sprintf("%s in version %q cannot be handled as a %s", gvk.Kind, gvk.Version, gvk.Kind)
	obj, actual, err := dec.Decode(data, &gvk, res.strategy.New())
	var warnings []string
	if err != nil {
		if se, ok := runtime.AsStrictDecodingError(err); ok && obj != nil {
			if validation == validationStrict {
				return nil, nil, apierrors.NewBadRequest(cannot + ": " + err.Error())
			}
			for _, e := range se.Errors() {
				warnings = append(warnings, e.Error())
			}
		} else {
			return nil, nil, apierrors.NewBadRequest(cannot + ": " + err.Error())
		}
	}
	if p, ok := res.strategy.(registry.Pruner); ok {
		unknown, err := p.Prune(obj)
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		var msgs []string
		for _, path := range unknown {
			msgs = append(msgs, fmt.Sprintf("unknown field %q", path))
		}
		switch {
		case len(msgs) > 0 && validation == validationStrict:
			return nil, nil, apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
		case validation == validationWarn:
			warnings = append(warnings, msgs...)
		}
	}
	if actual != nil && *actual != gvk {
		switch {
		case actual.GroupVersion() != gvk.GroupVersion():
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion(), gvk.GroupVersion()))
		default:
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", actual.Kind, gvk.Kind))
		}
	}
	return obj, warnings, nil
}

// addWarnings sends warnings as Warning headers, as kubectl prints them.
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", `299 - "`+strings.ReplaceAll(msg, `"`, `\"`)+`"`)
	}
}

// hugeExponent finds a number with an exponent of six digits or more standing on its
// own (a JSON or YAML value, a protobuf string), not inside a longer word such as base64
// data.
var hugeExponent = regexp.MustCompile(`(?:^|[^0-9A-Za-z+/=_.-])[+-]?[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]{6,}(?:$|[^0-9A-Za-z+/=_.-])`)

// checkExponents refuses a body holding a number whose exponent has six digits or more.
// Resource quantities are parsed while the body decodes, and apimachinery's parser
// works through such an exponent digit by digit: "1e-2147483647" as a cpu limit would
// hold a request for hours and its memory for gigabytes. No quantity or other number of
// the API needs an exponent of 100000.
func checkExponents(data []byte) error {
	if m := hugeExponent.Find(data); m != nil {
		n := strings.Trim(string(m), "\"' ,:[]{}\n\r\t")
		if len(n) > 40 {
			n = n[:40] + "..."
		}
		return apierrors.NewBadRequest(fmt.Sprintf("the number %q has an exponent out of range: at most 5 digits", n))
	}
	return nil
}
