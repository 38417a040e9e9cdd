package event

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the core/v1 event strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:    "v1",
		Kind:       "Event",
		ListKind:   "EventList",
		Resource:   "events",
		Singular:   "event",
		ShortNames: []string{"ev"},
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Event{} }
func (*strategy) NewList() runtime.Object { return &corev1.EventList{} }

// ValidateName only requires a name usable as a URL path segment: core/v1 events skip
// the DNS name rules for compatibility with old clients.
func (*strategy) ValidateName(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

func (*strategy) PrepareForCreate(obj runtime.Object)            {}
func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}
func (*strategy) Default(obj runtime.Object)                     {}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return ValidateCreate(obj.(*corev1.Event), false)
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.Event), old.(*corev1.Event), false)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return ValidateUpdate(obj.(*corev1.Event), old.(*corev1.Event), false)
}

// Length limits of the fields events.k8s.io events must fill.
const (
	reportingInstanceMaxLen = 128
	actionMaxLen            = 128
	reasonMaxLen            = 128
	noteMaxLen              = 1024
)

// ValidateCreate checks a new event. Every event gets the lenient checks core/v1 has
// always made; strict adds the rules of events.k8s.io/v1, for events created through it.
// Field paths are core/v1's (involvedObject, message), whichever API was used.
func ValidateCreate(ev *corev1.Event, strict bool) field.ErrorList {
	errs := validateLegacy(ev)
	if !strict {
		return errs
	}
	errs = append(errs, validateSeries(ev)...)
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	if !ev.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !ev.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if ev.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if ev.Source.Component != "" || ev.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return errs
}

// ValidateUpdate checks an update of an event. With strict (updates through
// events.k8s.io/v1) only the series may change.
func ValidateUpdate(ev, old *corev1.Event, strict bool) field.ErrorList {
	errs := validateLegacy(ev)
	if !strict {
		return errs
	}
	if !apiequality.Semantic.DeepEqual(ev.Series, old.Series) {
		errs = append(errs, validateSeries(ev)...)
	}
	immutable := []struct {
		path     string
		new, old interface{}
	}{
		{"involvedObject", ev.InvolvedObject, old.InvolvedObject},
		{"reason", ev.Reason, old.Reason},
		{"message", ev.Message, old.Message},
		{"source", ev.Source, old.Source},
		{"firstTimestamp", ev.FirstTimestamp, old.FirstTimestamp},
		{"lastTimestamp", ev.LastTimestamp, old.LastTimestamp},
		{"count", ev.Count, old.Count},
		{"type", ev.Type, old.Type},
		{"eventTime", ev.EventTime, old.EventTime},
		{"action", ev.Action, old.Action},
		{"related", ev.Related, old.Related},
		{"reportingController", ev.ReportingController, old.ReportingController},
		{"reportingInstance", ev.ReportingInstance, old.ReportingInstance},
	}
	for _, f := range immutable {
		errs = append(errs, apivalidation.ValidateImmutableField(f.new, f.old, field.NewPath(f.path))...)
	}
	return errs
}

func validateSeries(ev *corev1.Event) field.ErrorList {
	if ev.Series == nil {
		return nil
	}
	var errs field.ErrorList
	if ev.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if ev.Series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return errs
}

// validateLegacy makes the checks every event gets. An old-style event (no eventTime)
// must be about an object in its own namespace, or in none when the event is in
// "default". A new-style event may be about a cluster-scoped object only from "default"
// or "kube-system", and must say who reported it, what was done and why.
func validateLegacy(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	mismatch := field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace")
	if ev.EventTime.IsZero() {
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, mismatch)
			}
		} else if ev.Namespace != ev.InvolvedObject.Namespace {
			errs = append(errs, mismatch)
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, mismatch)
		}
		errs = append(errs, requiredWithLimit(field.NewPath("reportingController"), ev.ReportingController, 0)...)
		for _, msg := range content.IsLabelKey(ev.ReportingController) { // a qualified name
			errs = append(errs, field.Invalid(field.NewPath("reportingController"), ev.ReportingController, msg))
		}
		errs = append(errs, requiredWithLimit(field.NewPath("reportingInstance"), ev.ReportingInstance, reportingInstanceMaxLen)...)
		errs = append(errs, requiredWithLimit(field.NewPath("action"), ev.Action, actionMaxLen)...)
		errs = append(errs, requiredWithLimit(field.NewPath("reason"), ev.Reason, reasonMaxLen)...)
		if len(ev.Message) > noteMaxLen {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteMaxLen)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(ev.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), ev.Namespace, msg))
	}
	return errs
}

// requiredWithLimit requires value to be set and, when limit is positive, at most limit
// bytes long.
func requiredWithLimit(path *field.Path, value string, limit int) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	if limit > 0 && len(value) > limit {
		return field.ErrorList{field.Invalid(path, "", fmt.Sprintf("can have at most %v characters", limit))}
	}
	return nil
}

// Fields returns upstream's selectable fields. "source" falls back to the reporting
// controller for events written through events.k8s.io, which have no source.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	ev := obj.(*corev1.Event)
	set := registry.MetaFields(obj, true)
	source := ev.Source.Component
	if source == "" {
		source = ev.ReportingController
	}
	ref := ev.InvolvedObject
	set["involvedObject.kind"] = ref.Kind
	set["involvedObject.namespace"] = ref.Namespace
	set["involvedObject.name"] = ref.Name
	set["involvedObject.uid"] = string(ref.UID)
	set["involvedObject.apiVersion"] = ref.APIVersion
	set["involvedObject.resourceVersion"] = ref.ResourceVersion
	set["involvedObject.fieldPath"] = ref.FieldPath
	set["reason"] = ev.Reason
	set["reportingComponent"] = ev.ReportingController
	set["source"] = source
	set["type"] = ev.Type
	return set
}

// Columns are upstream's: the name is not first, and shows only with -o wide.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	name := registry.NameColumn()
	name.Priority = 1
	return []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: doc["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Reason", Type: "string", Description: doc["reason"]},
		{Name: "Object", Type: "string", Description: doc["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: doc["source"]},
		{Name: "Message", Type: "string", Description: doc["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: doc["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: doc["count"]},
		name,
	}
}

// Row shows old-style and new-style events alike: first seen falls back to eventTime,
// last seen to first seen, and a series overrides last seen and count. A count of zero
// is a single occurrence.
func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	ev := obj.(*corev1.Event)
	first := registry.Since(ev.FirstTimestamp.Time, now)
	if ev.FirstTimestamp.IsZero() {
		first = registry.Since(ev.EventTime.Time, now)
	}
	last := registry.Since(ev.LastTimestamp.Time, now)
	if ev.LastTimestamp.IsZero() {
		last = first
	}
	count := ev.Count
	if ev.Series != nil {
		last = registry.Since(ev.Series.LastObservedTime.Time, now)
		count = ev.Series.Count
	} else if count == 0 {
		count = 1
	}
	object := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		object += "/" + ev.InvolvedObject.Name
	}
	return []interface{}{
		last,
		ev.Type,
		ev.Reason,
		object,
		ev.InvolvedObject.FieldPath,
		source(ev),
		strings.TrimSpace(ev.Message),
		first,
		int64(count),
		ev.Name,
	}
}

// source renders "component, host", taking the reporting controller and instance where
// the source is empty, and leaving out an empty host.
func source(ev *corev1.Event) string {
	component, host := ev.Source.Component, ev.Source.Host
	if component == "" {
		component = ev.ReportingController
	}
	if host == "" {
		host = ev.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
