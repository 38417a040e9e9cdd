package priorityclass

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newClass returns a valid, defaulted user class.
func newClass(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{
		ObjectMeta:       metav1.ObjectMeta{Name: name},
		Value:            value,
		PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority),
	}
}

// messages returns every error as the API server reports it.
func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestInfo(t *testing.T) {
	s := New()
	want := registry.Info{Group: "scheduling.k8s.io", Version: "v1", Kind: "PriorityClass", ListKind: "PriorityClassList",
		Resource: "priorityclasses", Singular: "priorityclass", ShortNames: []string{"pc"}}
	if got := s.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if msgs := s.ValidateName("Not_DNS", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a name that is no DNS subdomain")
	}
	if got, want := s.Fields(newClass("high", 1000)), (fields.Set{"metadata.name": "high"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestPrepareAndDefault(t *testing.T) {
	s := New()
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high", Generation: 7}, Value: 1000}
	s.PrepareForCreate(pc)
	if pc.Generation != 1 {
		t.Errorf("generation %d after create, want 1", pc.Generation)
	}
	tests := []struct {
		name   string
		policy *corev1.PreemptionPolicy
		want   corev1.PreemptionPolicy
	}{
		{name: "unset", policy: nil, want: corev1.PreemptLowerPriority},
		{name: "never kept", policy: ptr.To(corev1.PreemptNever), want: corev1.PreemptNever},
		{name: "empty kept for validation", policy: ptr.To[corev1.PreemptionPolicy](""), want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := &schedulingv1.PriorityClass{PreemptionPolicy: tt.policy}
			s.Default(pc)
			s.Default(pc)
			if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != tt.want {
				t.Errorf("preemptionPolicy %v, want %q", pc.PreemptionPolicy, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		pc   *schedulingv1.PriorityClass
		want []string
	}{
		{name: "user class", pc: newClass("high", 1000)},
		{name: "highest user value", pc: newClass("highest", HighestUserDefinablePriority)},
		{name: "negative value", pc: newClass("low", -5)},
		{
			name: "above the user range",
			pc:   newClass("too-high", HighestUserDefinablePriority+1),
			want: []string{"value: Forbidden: maximum allowed value of a user defined priority is 1000000000"},
		},
		{name: "system-cluster-critical", pc: newClass(SystemClusterCritical, 2000000000)},
		{name: "system-node-critical", pc: newClass(SystemNodeCritical, 2000001000)},
		{
			name: "system class with another value",
			pc:   newClass(SystemClusterCritical, 5),
			want: []string{"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " +
				"error: value of system-cluster-critical PriorityClass must be 2000000000"},
		},
		{
			name: "system class as the default",
			pc: func() *schedulingv1.PriorityClass {
				pc := newClass(SystemNodeCritical, 2000001000)
				pc.GlobalDefault = true
				return pc
			}(),
			want: []string{"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " +
				"error: globalDefault of system-node-critical PriorityClass must be false"},
		},
		{
			name: "unknown system name, small value",
			pc:   newClass("system-mine", 10),
			want: []string{"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " +
				"error: system-mine is not a known system priority class"},
		},
		{
			// The prefix check replaces the value check: only the name is reported.
			name: "unknown system name, system value",
			pc:   newClass("system-", SystemCriticalPriority),
			want: []string{"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. " +
				"error: system- is not a known system priority class"},
		},
		{name: "prefix elsewhere in the name", pc: newClass("my-system-class", 10)},
		{
			name: "empty preemption policy",
			pc: func() *schedulingv1.PriorityClass {
				pc := newClass("high", 10)
				pc.PreemptionPolicy = ptr.To[corev1.PreemptionPolicy]("")
				return pc
			}(),
			want: []string{"preemptionPolicy: Required value"},
		},
		{
			name: "unknown preemption policy, too high",
			pc: func() *schedulingv1.PriorityClass {
				pc := newClass("high", HighestUserDefinablePriority+1)
				pc.PreemptionPolicy = ptr.To[corev1.PreemptionPolicy]("Sometimes")
				return pc
			}(),
			want: []string{
				"value: Forbidden: maximum allowed value of a user defined priority is 1000000000",
				`preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messages(New().Validate(tt.pc)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newClass("high", 1000)
	tests := []struct {
		name   string
		change func(*schedulingv1.PriorityClass)
		want   []string
	}{
		{name: "description and default", change: func(pc *schedulingv1.PriorityClass) {
			pc.Description = "important"
			pc.GlobalDefault = true
		}},
		{
			name:   "value",
			change: func(pc *schedulingv1.PriorityClass) { pc.Value = 2000 },
			want:   []string{"value: Forbidden: may not be changed in an update."},
		},
		{
			name:   "preemption policy",
			change: func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr.To(corev1.PreemptNever) },
			want:   []string{`preemptionPolicy: Invalid value: "Never": field is immutable`},
		},
		{
			name: "both",
			change: func(pc *schedulingv1.PriorityClass) {
				pc.Value = 2000
				pc.PreemptionPolicy = ptr.To(corev1.PreemptNever)
			},
			want: []string{"value: Forbidden: may not be changed in an update.", `preemptionPolicy: Invalid value: "Never": field is immutable`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := old.DeepCopy()
			tt.change(pc)
			if got := messages(New().ValidateUpdate(pc, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %q, want %q", got, tt.want)
			}
		})
	}
	// Upstream checks only what may not change on update: a system class may become
	// the default, which a create would refuse.
	sys := SystemPriorityClasses()[1]
	New().Default(sys)
	def := sys.DeepCopy()
	def.GlobalDefault = true
	if errs := New().ValidateUpdate(def, sys); len(errs) != 0 {
		t.Errorf("ValidateUpdate of a system class made default = %v, want none", errs)
	}
}

func TestSystemPriorityClasses(t *testing.T) {
	s := New()
	classes := SystemPriorityClasses()
	want := []struct {
		name  string
		value int32
	}{{"system-node-critical", 2000001000}, {"system-cluster-critical", 2000000000}}
	if len(classes) != len(want) {
		t.Fatalf("%d system classes, want %d", len(classes), len(want))
	}
	for i, pc := range classes {
		if pc.Name != want[i].name || pc.Value != want[i].value || pc.GlobalDefault || pc.Description == "" {
			t.Errorf("class %d = %s %d default %v %q, want %s %d", i, pc.Name, pc.Value, pc.GlobalDefault, pc.Description, want[i].name, want[i].value)
		}
		s.PrepareForCreate(pc)
		s.Default(pc)
		if errs := s.Validate(pc); len(errs) != 0 {
			t.Errorf("%s does not validate: %v", pc.Name, errs)
		}
	}
	classes[0].Value = 1
	if SystemPriorityClasses()[0].Value != 2000001000 {
		t.Error("SystemPriorityClasses returned a shared object")
	}
}

func TestCheckDelete(t *testing.T) {
	s := New().(registry.DeleteChecker)
	for _, pc := range SystemPriorityClasses() {
		err := s.CheckDelete(pc)
		if !apierrors.IsForbidden(err) {
			t.Fatalf("CheckDelete(%s) = %v, want Forbidden", pc.Name, err)
		}
		want := `priorityclasses.scheduling.k8s.io "` + pc.Name + `" is forbidden: this is a system priority class and cannot be deleted`
		if err.Error() != want {
			t.Errorf("CheckDelete(%s) = %q, want %q", pc.Name, err, want)
		}
	}
	if err := s.CheckDelete(newClass("system-mine", 1)); err != nil {
		t.Errorf("CheckDelete of a user class = %v", err)
	}
}

func TestTable(t *testing.T) {
	s := New()
	old := newClass("high", 1000)
	old.GlobalDefault = true
	old.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	never := newClass("batch", -10)
	never.PreemptionPolicy = ptr.To(corev1.PreemptNever)
	tests := []struct {
		name string
		pc   *schedulingv1.PriorityClass
		want []interface{}
	}{
		{name: "default class", pc: old, want: []interface{}{"high", int64(1000), true, "3h", "PreemptLowerPriority"}},
		{name: "never preempts", pc: never, want: []interface{}{"batch", int64(-10), false, "<unknown>", "Never"}},
		{name: "undefaulted", pc: &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, want: []interface{}{"x", int64(0), false, "<unknown>", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Row(tt.pc, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
	var got []string
	for _, c := range s.Columns() {
		if c.Description == "" {
			t.Errorf("column %s has no description", c.Name)
		}
		got = append(got, c.Name+":"+c.Type)
	}
	want := []string{"Name:string", "Value:integer", "Global-Default:boolean", "Age:string", "PreemptionPolicy:string"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
}
