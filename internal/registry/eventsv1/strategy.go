package eventsv1

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/event"
)

var (
	_ registry.Strategy  = (*strategy)(nil)
	_ registry.Converter = (*strategy)(nil)
)

// strategy serves events.k8s.io/v1 events. Its methods take events.k8s.io/v1 objects;
// Fields and Row also accept the stored core/v1 form.
type strategy struct {
	core registry.Strategy // the core/v1 event strategy, for the Table
}

// New returns the events.k8s.io/v1 event strategy.
func New() registry.Strategy { return &strategy{core: event.New()} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:           "events.k8s.io",
		Version:         "v1",
		Kind:            "Event",
		ListKind:        "EventList",
		Resource:        "events",
		Singular:        "event",
		ShortNames:      []string{"ev"},
		Namespaced:      true,
		StorageResource: "events",
	}
}

func (*strategy) New() runtime.Object        { return &eventsv1.Event{} }
func (*strategy) NewList() runtime.Object    { return &eventsv1.EventList{} }
func (*strategy) NewStorage() runtime.Object { return &corev1.Event{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*strategy) PrepareForCreate(obj runtime.Object)            {}
func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}
func (*strategy) Default(obj runtime.Object)                     {}

// Validate applies the strict events.k8s.io rules. Errors name core/v1 fields
// (involvedObject, message), as upstream's do.
func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return event.ValidateCreate(toCore(obj.(*eventsv1.Event)), true)
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return event.ValidateUpdate(toCore(obj.(*eventsv1.Event)), toCore(old.(*eventsv1.Event)), true)
}

func (s *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return s.ValidateUpdate(obj, old)
}

// fieldNames maps the selectable fields of the stored core/v1 event to the names
// events.k8s.io/v1 clients select by. Fields not listed keep their names.
var fieldNames = map[string]string{
	"involvedObject.kind":            "regarding.kind",
	"involvedObject.namespace":       "regarding.namespace",
	"involvedObject.name":            "regarding.name",
	"involvedObject.uid":             "regarding.uid",
	"involvedObject.apiVersion":      "regarding.apiVersion",
	"involvedObject.resourceVersion": "regarding.resourceVersion",
	"involvedObject.fieldPath":       "regarding.fieldPath",
	"reportingComponent":             "reportingController",
}

// Fields returns what upstream lets an events.k8s.io/v1 field selector match:
// metadata.name, metadata.namespace, regarding.*, reason, reportingController, source
// and type.
func (s *strategy) Fields(obj runtime.Object) fields.Set {
	set := fields.Set{}
	for k, v := range s.core.Fields(stored(obj)) {
		if name, ok := fieldNames[k]; ok {
			k = name
		}
		set[k] = v
	}
	return set
}

// Columns and Row are those of core/v1 events.
func (s *strategy) Columns() []metav1.TableColumnDefinition { return s.core.Columns() }

func (s *strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	return s.core.Row(stored(obj), now)
}

func (*strategy) ToStorage(obj runtime.Object) (runtime.Object, error) {
	ev, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil, fmt.Errorf("converting %T to a core/v1 Event: not an events.k8s.io/v1 Event", obj)
	}
	return toCore(ev), nil
}

func (*strategy) FromStorage(obj runtime.Object) (runtime.Object, error) {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return nil, fmt.Errorf("converting %T to an events.k8s.io/v1 Event: not a core/v1 Event", obj)
	}
	return fromCore(ev), nil
}

// stored returns obj as a core/v1 event.
func stored(obj runtime.Object) *corev1.Event {
	if ev, ok := obj.(*eventsv1.Event); ok {
		return toCore(ev)
	}
	return obj.(*corev1.Event)
}

// toCore converts an events.k8s.io/v1 event to a new core/v1 event sharing no memory
// with it. The two kinds hold the same information: the conversion loses nothing.
func toCore(in *eventsv1.Event) *corev1.Event {
	in = in.DeepCopy()
	out := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          in.ObjectMeta,
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		Related:             in.Related,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out
}

// fromCore converts a core/v1 event to a new events.k8s.io/v1 event sharing no memory
// with it.
func fromCore(in *corev1.Event) *eventsv1.Event {
	in = in.DeepCopy()
	out := &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"},
		ObjectMeta:               in.ObjectMeta,
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out
}
