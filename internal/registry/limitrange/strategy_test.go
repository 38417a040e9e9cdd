package limitrange

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// list builds a resource list from name, quantity pairs.
func list(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

// created runs a range with items through the create path.
func created(items ...corev1.LimitRangeItem) *corev1.LimitRange {
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "default"},
		Spec:       corev1.LimitRangeSpec{Limits: items},
	}
	s := New()
	s.PrepareForCreate(lr)
	s.Default(lr)
	return lr
}

func TestInfo(t *testing.T) {
	s := New()
	want := registry.Info{Version: "v1", Kind: "LimitRange", ListKind: "LimitRangeList", Resource: "limitranges",
		Singular: "limitrange", ShortNames: []string{"limits"}, Namespaced: true}
	if got := s.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if msgs := s.ValidateName("Not_DNS", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a name that is no DNS subdomain")
	}
	wantFields := fields.Set{"metadata.name": "limits", "metadata.namespace": "default"}
	if got := s.Fields(created()); !reflect.DeepEqual(got, wantFields) {
		t.Errorf("Fields = %v, want %v", got, wantFields)
	}
}

func TestPrepareForCreate(t *testing.T) {
	s := New()
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}}
	s.PrepareForCreate(lr)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(lr.Name) {
		t.Errorf("name %q is no UUID", lr.Name)
	}
	if msgs := s.ValidateName(lr.Name, false); len(msgs) != 0 {
		t.Errorf("the generated name %q is invalid: %v", lr.Name, msgs)
	}
	lr = created()
	if lr.Name != "limits" {
		t.Errorf("name = %q, want the client's", lr.Name)
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		item corev1.LimitRangeItem
		want corev1.LimitRangeItem
	}{
		{
			name: "container max only",
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("cpu", "2", "memory", "1Gi")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("cpu", "2", "memory", "1Gi"),
				Default: list("cpu", "2", "memory", "1Gi"), DefaultRequest: list("cpu", "2", "memory", "1Gi")},
		},
		{
			name: "container default request from default, else min",
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: list("cpu", "100m", "memory", "64Mi"),
				Default: list("cpu", "500m"), DefaultRequest: list("ephemeral-storage", "1Gi")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: list("cpu", "100m", "memory", "64Mi"),
				Default: list("cpu", "500m"), DefaultRequest: list("cpu", "500m", "memory", "64Mi", "ephemeral-storage", "1Gi")},
		},
		{
			name: "container default kept over max",
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("cpu", "2"), Default: list("cpu", "1")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("cpu", "2"), Default: list("cpu", "1"),
				DefaultRequest: list("cpu", "1")},
		},
		{
			name: "empty container item gets empty lists",
			item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{}, DefaultRequest: corev1.ResourceList{}},
		},
		{
			name: "pod item untouched",
			item: corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: list("cpu", "4"), Min: list("cpu", "1")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: list("cpu", "4"), Min: list("cpu", "1")},
		},
		{
			name: "quantities rounded up",
			item: corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Max: list("storage", "0.0001"),
				MaxLimitRequestRatio: list("storage", "1.0001")},
			want: corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Max: list("storage", "1m"),
				MaxLimitRequestRatio: list("storage", "1001m")},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := created(tt.item)
			s.Default(lr)
			if got := lr.Spec.Limits[0]; !reflect.DeepEqual(render(got), render(tt.want)) {
				t.Errorf("item = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

// render returns item's lists as strings, nil and empty lists apart, so items
// compare by value whatever form their quantities were built in.
func render(item corev1.LimitRangeItem) []map[string]string {
	var out []map[string]string
	for _, l := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
		var m map[string]string
		if l != nil {
			m = map[string]string{}
		}
		for name, q := range l {
			m[string(name)] = q.String()
		}
		out = append(out, m)
	}
	return append(out, map[string]string{"type": string(item.Type)})
}

func TestValidate(t *testing.T) {
	container := func(mutate func(*corev1.LimitRangeItem)) corev1.LimitRangeItem {
		item := corev1.LimitRangeItem{Type: corev1.LimitTypeContainer}
		mutate(&item)
		return item
	}
	tests := []struct {
		name  string
		items []corev1.LimitRangeItem
		want  []fieldError
	}{
		{
			name: "valid",
			items: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypePod, Max: list("cpu", "4", "memory", "8Gi"), Min: list("cpu", "100m")},
				{Type: corev1.LimitTypeContainer, Max: list("cpu", "2", "hugepages-2Mi", "1Gi", "example.com/gpu", "2"),
					Min: list("cpu", "100m"), Default: list("cpu", "1", "example.com/gpu", "1"), DefaultRequest: list("cpu", "500m"),
					MaxLimitRequestRatio: list("cpu", "10")},
				{Type: corev1.LimitTypePersistentVolumeClaim, Min: list("storage", "1Gi"), Max: list("storage", "10Gi")},
				{Type: "example.com/widget", Max: list("example.com/size", "3")},
			},
		},
		{
			name:  "unknown type",
			items: []corev1.LimitRangeItem{{Type: "Node"}, {Type: "bad type"}},
			want:  []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].type"}, {field.ErrorTypeInvalid, "spec.limits[1].type"}},
		},
		{
			name: "duplicate type",
			items: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer}, {Type: corev1.LimitTypeContainer},
			},
			want: []fieldError{{field.ErrorTypeDuplicate, "spec.limits[1].type"}},
		},
		{
			name: "container resource names",
			items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod,
				Max: list("pods", "3", "widgets", "1", "kubernetes.io/thing", "1", "example.com/-bad", "1")}},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.limits[0].max[example.com/-bad]"},
				{field.ErrorTypeInvalid, "spec.limits[0].max[example.com/-bad]"},
				{field.ErrorTypeInvalid, "spec.limits[0].max[pods]"},
				{field.ErrorTypeInvalid, "spec.limits[0].max[widgets]"},
				{field.ErrorTypeInvalid, "spec.limits[0].max[widgets]"},
			},
		},
		{
			name:  "storage allowed for claims only",
			items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Max: list("storage", "1Gi")}},
			want:  []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].max[storage]"}},
		},
		{
			name:  "pod defaults",
			items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Default: list("cpu", "1"), DefaultRequest: list("cpu", "1")}},
			want:  []fieldError{{field.ErrorTypeForbidden, "spec.limits[0].default"}, {field.ErrorTypeForbidden, "spec.limits[0].defaultRequest"}},
		},
		{
			name:  "claim without storage bound",
			items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePersistentVolumeClaim, Max: list("requests.storage", "1Gi")}},
			want:  []fieldError{{field.ErrorTypeRequired, "spec.limits[0].limits"}},
		},
		{
			name:  "min above max",
			items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Min: list("cpu", "2"), Max: list("cpu", "1")}},
			want:  []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].min[cpu]"}},
		},
		{
			name: "default above max",
			// The default request defaults to the default, so it is above max too.
			items: []corev1.LimitRangeItem{container(func(i *corev1.LimitRangeItem) {
				i.Max, i.Default = list("memory", "1Gi"), list("memory", "2Gi")
			})},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].defaultRequest[memory]"}, {field.ErrorTypeInvalid, "spec.limits[0].default[memory]"}},
		},
		{
			name: "default request above default",
			items: []corev1.LimitRangeItem{container(func(i *corev1.LimitRangeItem) {
				i.Default, i.DefaultRequest = list("cpu", "1"), list("cpu", "2")
			})},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].defaultRequest[cpu]"}},
		},
		{
			name: "min above defaults",
			items: []corev1.LimitRangeItem{container(func(i *corev1.LimitRangeItem) {
				i.Min, i.Default = list("cpu", "2"), list("cpu", "1")
			})},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].defaultRequest[cpu]"}, {field.ErrorTypeInvalid, "spec.limits[0].default[cpu]"}},
		},
		{
			name: "ratios",
			items: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypePod, Min: list("cpu", "1"), Max: list("cpu", "2"), MaxLimitRequestRatio: list("cpu", "3", "memory", "500m")},
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].maxLimitRequestRatio[cpu]"}, {field.ErrorTypeInvalid, "spec.limits[0].maxLimitRequestRatio[memory]"}},
		},
		{
			name: "zero min allows any ratio",
			items: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypePod, Min: list("cpu", "0"), Max: list("cpu", "2"), MaxLimitRequestRatio: list("cpu", "300")},
			},
		},
		{
			name: "hugepages cannot overcommit",
			items: []corev1.LimitRangeItem{container(func(i *corev1.LimitRangeItem) {
				i.Default, i.DefaultRequest = list("hugepages-2Mi", "4Mi", "example.com/gpu", "2"), list("hugepages-2Mi", "2Mi", "example.com/gpu", "1")
			})},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].defaultRequest[example.com/gpu]"}, {field.ErrorTypeInvalid, "spec.limits[0].defaultRequest[hugepages-2Mi]"}},
		},
		{
			name:  "negative quantities pass, as upstream's",
			items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Min: list("cpu", "-1")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(New().Validate(created(tt.items...))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v\nwant       %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	lr := created(
		corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: list("cpu", "2"), Max: list("cpu", "1", "memory", "1Gi"),
			Default: list("memory", "2Gi"), DefaultRequest: list("memory", "3Gi"), MaxLimitRequestRatio: list("cpu", "3")},
		corev1.LimitRangeItem{Type: corev1.LimitTypePod, Default: list("cpu", "1"), MaxLimitRequestRatio: list("cpu", "0.5")},
		corev1.LimitRangeItem{Type: "Node"},
		corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim},
	)
	want := []string{
		`spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1`,
		`spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1`,
		`spec.limits[0].default[cpu]: Invalid value: "2": min value 2 is greater than default value 1`,
		`spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "3": ratio 3 is greater than max/min = 0.500000`,
		`spec.limits[0].defaultRequest[memory]: Invalid value: "3Gi": default request value 3Gi is greater than max value 1Gi`,
		`spec.limits[0].defaultRequest[memory]: Invalid value: "3Gi": default request value 3Gi is greater than default limit value 2Gi`,
		`spec.limits[0].default[memory]: Invalid value: "1Gi": default value 2Gi is greater than max value 1Gi`,
		"spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'",
		`spec.limits[1].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1`,
		`spec.limits[2].type: Invalid value: "Node": must be a standard limit type or fully qualified`,
		"spec.limits[3].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
	}
	if got := messages(New().Validate(lr)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant\n%q", got, want)
	}
}

func TestUpdate(t *testing.T) {
	s := New()
	old := created(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: list("cpu", "2")})
	lr := old.DeepCopy()
	lr.Spec.Limits[0].Max = list("cpu", "1")
	s.PrepareForUpdate(lr, old)
	s.Default(lr)
	want := []fieldError{{field.ErrorTypeInvalid, "spec.limits[0].defaultRequest[cpu]"}, {field.ErrorTypeInvalid, "spec.limits[0].default[cpu]"}}
	if got := summarize(s.ValidateUpdate(lr, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateUpdate = %v, want %v (the stored defaults exceed the new max)", got, want)
	}
	lr.Spec.Limits[0].Default, lr.Spec.Limits[0].DefaultRequest = nil, nil
	s.Default(lr)
	if got := s.ValidateUpdate(lr, old); len(got) != 0 {
		t.Errorf("ValidateUpdate with the defaults dropped: %v", got)
	}
}

func TestTable(t *testing.T) {
	s := New()
	lr := created()
	lr.CreationTimestamp = metav1.NewTime(time.Date(2025, 5, 31, 14, 30, 0, 0, time.FixedZone("CEST", 2*3600)))
	want := []interface{}{"limits", "2025-05-31T12:30:00Z"}
	if got := s.Row(lr, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %q, want %q", got, want)
	}
	cols := s.Columns()
	if len(cols) != 2 || cols[0].Name != "Name" || cols[1].Name != "Created At" || cols[1].Type != "date" {
		t.Errorf("Columns = %+v, want Name and a date Created At", cols)
	}
}
