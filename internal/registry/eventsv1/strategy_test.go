package eventsv1

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// full is an events.k8s.io/v1 event with every field set.
func full() *eventsv1.Event {
	return &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:               metav1.ObjectMeta{Name: "web.1", Namespace: "team-a", Labels: map[string]string{"app": "web"}},
		EventTime:                metav1.NewMicroTime(now.Add(-time.Hour)),
		Series:                   &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-time.Minute))},
		ReportingController:      "example.com/ctl",
		ReportingInstance:        "ctl-0",
		Action:                   "Scaling",
		Reason:                   "ScaledUp",
		Regarding:                corev1.ObjectReference{Kind: "Deployment", Namespace: "team-a", Name: "web", UID: "u1", APIVersion: "apps/v1", ResourceVersion: "9", FieldPath: "spec"},
		Related:                  &corev1.ObjectReference{Kind: "ReplicaSet", Name: "web-1"},
		Note:                     "scaled to 3",
		Type:                     corev1.EventTypeNormal,
		DeprecatedSource:         corev1.EventSource{Component: "old", Host: "h"},
		DeprecatedFirstTimestamp: metav1.NewTime(now.Add(-2 * time.Hour)),
		DeprecatedLastTimestamp:  metav1.NewTime(now.Add(-time.Hour)),
		DeprecatedCount:          7,
	}
}

func TestConversion(t *testing.T) {
	c := New().(registry.Converter)
	in := full()
	stored, err := c.ToStorage(in)
	if err != nil {
		t.Fatal(err)
	}
	core := stored.(*corev1.Event)
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"kind", core.TypeMeta, metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}},
		{"involvedObject", core.InvolvedObject, in.Regarding},
		{"message", core.Message, in.Note},
		{"reportingComponent", core.ReportingController, in.ReportingController},
		{"reportingInstance", core.ReportingInstance, in.ReportingInstance},
		{"source", core.Source, in.DeprecatedSource},
		{"firstTimestamp", core.FirstTimestamp, in.DeprecatedFirstTimestamp},
		{"lastTimestamp", core.LastTimestamp, in.DeprecatedLastTimestamp},
		{"count", core.Count, in.DeprecatedCount},
		{"series", *core.Series, corev1.EventSeries{Count: 4, LastObservedTime: in.Series.LastObservedTime}},
		{"related", core.Related, in.Related},
		{"eventTime action reason type", []interface{}{core.EventTime, core.Action, core.Reason, core.Type}, []interface{}{in.EventTime, in.Action, in.Reason, in.Type}},
	}
	for _, check := range checks {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}
	core.Related.Name = "changed"
	if in.Related.Name != "web-1" {
		t.Error("the stored form shares memory with the input")
	}
	core.Related.Name = "web-1"

	back, err := c.FromStorage(core)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, full()) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, full())
	}
	again, _ := c.ToStorage(back)
	if !reflect.DeepEqual(again, core) {
		t.Errorf("core round trip:\n got %+v\nwant %+v", again, core)
	}
}

func TestConversionRejectsOtherKinds(t *testing.T) {
	c := New().(registry.Converter)
	if _, err := c.ToStorage(&corev1.Event{}); err == nil {
		t.Error("ToStorage accepted a core/v1 event")
	}
	if _, err := c.FromStorage(&eventsv1.Event{}); err == nil {
		t.Error("FromStorage accepted an events.k8s.io/v1 event")
	}
}

func TestValidateIsStrict(t *testing.T) {
	tests := []struct {
		name  string
		event *eventsv1.Event
		want  []string
	}{
		{
			name: "new style",
			event: func() *eventsv1.Event {
				ev := full()
				ev.DeprecatedSource, ev.DeprecatedCount = corev1.EventSource{}, 0
				ev.DeprecatedFirstTimestamp, ev.DeprecatedLastTimestamp = metav1.Time{}, metav1.Time{}
				return ev
			}(),
		},
		{name: "deprecated fields set", event: full(), want: []string{"firstTimestamp", "lastTimestamp", "count", "source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().Validate(tt.event)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	ev := full()
	ev.DeprecatedSource = corev1.EventSource{}
	want := fields.Set{
		"metadata.name":             "web.1",
		"metadata.namespace":        "team-a",
		"regarding.kind":            "Deployment",
		"regarding.namespace":       "team-a",
		"regarding.name":            "web",
		"regarding.uid":             "u1",
		"regarding.apiVersion":      "apps/v1",
		"regarding.resourceVersion": "9",
		"regarding.fieldPath":       "spec",
		"reason":                    "ScaledUp",
		"reportingController":       "example.com/ctl",
		"source":                    "example.com/ctl",
		"type":                      "Normal",
	}
	s := New()
	if got := s.Fields(ev); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v\nwant %v", got, want)
	}
	if got := s.Fields(toCore(ev)); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields of the stored form = %v\nwant %v", got, want)
	}
}

func TestRow(t *testing.T) {
	want := []interface{}{"60s", "Normal", "ScaledUp", "deployment/web", "spec", "old, h", "scaled to 3", "120m", int64(4), "web.1"}
	s := New()
	if got := s.Row(full(), now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %q\nwant  %q", got, want)
	}
	if len(s.Columns()) != len(want) {
		t.Errorf("%d columns for %d cells", len(s.Columns()), len(want))
	}
}

// fieldsOf returns the field path of every error, in order.
func fieldsOf(errs field.ErrorList) []string {
	var paths []string
	for _, err := range errs {
		paths = append(paths, err.Field)
	}
	return paths
}
