package event

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func TestValidateCreate(t *testing.T) {
	newStyle := corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "e", Namespace: "default"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: "example.com/ctl",
		ReportingInstance:   "ctl-1",
		Action:              "Pulling",
		Reason:              "Pulled",
		Type:                corev1.EventTypeNormal,
	}
	tests := []struct {
		name   string
		event  corev1.Event
		strict bool
		want   []string
	}{
		{
			name:  "old style in its object's namespace",
			event: corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}, InvolvedObject: corev1.ObjectReference{Namespace: "a"}},
		},
		{
			name:  "old style about a cluster object from default",
			event: corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}, InvolvedObject: corev1.ObjectReference{Kind: "Node"}},
		},
		{
			name:  "old style namespace mismatch",
			event: corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}, InvolvedObject: corev1.ObjectReference{Namespace: "b"}},
			want:  []string{"involvedObject.namespace"},
		},
		{
			name:  "new style missing what it must say",
			event: corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}, InvolvedObject: corev1.ObjectReference{Namespace: "a"}, EventTime: metav1.NewMicroTime(now)},
			want:  []string{"reportingController", "reportingController", "reportingController", "reportingInstance", "action", "reason"},
		},
		{name: "new style complete", event: newStyle, strict: true},
		{
			name: "strict forbids deprecated fields",
			event: func() corev1.Event {
				ev := newStyle
				ev.Count = 2
				ev.Source.Component = "kubelet"
				ev.Type = "Info"
				return ev
			}(),
			strict: true,
			want:   []string{"type", "count", "source"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(ValidateCreate(&tt.event, tt.strict)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateUpdateStrict(t *testing.T) {
	old := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: "a"},
		InvolvedObject:      corev1.ObjectReference{Namespace: "a"},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: "ctl",
		ReportingInstance:   "i",
		Action:              "A",
		Reason:              "R",
		Message:             "m",
	}
	ev := old.DeepCopy()
	ev.Series = &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(now)}
	if errs := ValidateUpdate(ev, old, true); len(errs) != 0 {
		t.Errorf("series update: %v", errs)
	}
	ev.Message = "changed"
	if got := fieldsOf(ValidateUpdate(ev, old, true)); !reflect.DeepEqual(got, []string{"message"}) {
		t.Errorf("message update: errors at %v, want [message]", got)
	}
	if errs := ValidateUpdate(ev, old, false); len(errs) != 0 {
		t.Errorf("core/v1 update: %v", errs)
	}
}

func TestFields(t *testing.T) {
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "e", Namespace: "a"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "a", Name: "p", UID: "u", APIVersion: "v1", ResourceVersion: "7", FieldPath: "spec.containers{c}"},
		Reason:              "Started",
		Type:                "Normal",
		ReportingController: "kubelet",
	}
	want := fields.Set{
		"metadata.name":                  "e",
		"metadata.namespace":             "a",
		"involvedObject.kind":            "Pod",
		"involvedObject.namespace":       "a",
		"involvedObject.name":            "p",
		"involvedObject.uid":             "u",
		"involvedObject.apiVersion":      "v1",
		"involvedObject.resourceVersion": "7",
		"involvedObject.fieldPath":       "spec.containers{c}",
		"reason":                         "Started",
		"reportingComponent":             "kubelet",
		"source":                         "kubelet",
		"type":                           "Normal",
	}
	if got := New().Fields(ev); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v\nwant %v", got, want)
	}
}

func TestRow(t *testing.T) {
	tests := []struct {
		name  string
		event corev1.Event
		want  []interface{}
	}{
		{
			name: "old style",
			event: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "nginx.1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "nginx", FieldPath: "spec.containers{nginx}"},
				Type:           "Normal", Reason: "Pulled", Message: " pulled \n",
				Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
				FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(2 * time.Minute), Count: 3,
			},
			want: []interface{}{"2m", "Normal", "Pulled", "pod/nginx", "spec.containers{nginx}", "kubelet, node-1", "pulled", "10m", int64(3), "nginx.1"},
		},
		{
			name: "new style with series",
			event: corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "n.2"},
				InvolvedObject: corev1.ObjectReference{Kind: "Node"},
				Type:           "Warning", Reason: "Rebooted",
				EventTime:           metav1.NewMicroTime(now.Add(-time.Hour)),
				Series:              &corev1.EventSeries{Count: 5, LastObservedTime: metav1.NewMicroTime(now.Add(-30 * time.Second))},
				ReportingController: "ctl",
			},
			want: []interface{}{"30s", "Warning", "Rebooted", "node", "", "ctl", "", "60m", int64(5), "n.2"},
		},
		{
			name:  "singleton new style",
			event: corev1.Event{EventTime: metav1.NewMicroTime(now.Add(-5 * time.Second))},
			want:  []interface{}{"5s", "", "", "", "", "", "", "5s", int64(1), ""},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Row(&tt.event, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %q\nwant  %q", got, tt.want)
			}
			if len(got) != len(s.Columns()) {
				t.Errorf("%d cells for %d columns", len(got), len(s.Columns()))
			}
		})
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
