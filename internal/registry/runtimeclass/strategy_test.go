package runtimeclass

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Upstream's message for a handler that is no DNS label.
const notLabel = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " +
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', " +
	"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

// newClass returns a valid class running gVisor on its own nodes.
func newClass(name string) *nodev1.RuntimeClass {
	return &nodev1.RuntimeClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Handler:    "runsc",
		Overhead: &nodev1.Overhead{PodFixed: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("250m"),
			corev1.ResourceMemory: resource.MustParse("120Mi"),
		}},
		Scheduling: &nodev1.Scheduling{
			NodeSelector: map[string]string{"runtime": "gvisor"},
			Tolerations:  []corev1.Toleration{{Key: "runtime", Operator: corev1.TolerationOpEqual, Value: "gvisor", Effect: corev1.TaintEffectNoSchedule}},
		},
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
	want := registry.Info{Group: "node.k8s.io", Version: "v1", Kind: "RuntimeClass", ListKind: "RuntimeClassList",
		Resource: "runtimeclasses", Singular: "runtimeclass"}
	if got := s.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if msgs := s.ValidateName("gvisor.example.com", false); len(msgs) != 0 {
		t.Errorf("ValidateName refused a DNS subdomain: %v", msgs)
	}
	if msgs := s.ValidateName("Not_DNS", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a name that is no DNS subdomain")
	}
	if got, want := s.Fields(newClass("gvisor")), (fields.Set{"metadata.name": "gvisor"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

// TestPrepareAndDefault checks that the server changes nothing: upstream has no
// defaults and no status for a RuntimeClass.
func TestPrepareAndDefault(t *testing.T) {
	s := New()
	rc := newClass("gvisor")
	rc.Overhead.PodFixed = nil
	rc.Scheduling.Tolerations[0].Operator = ""
	want := rc.DeepCopy()
	s.PrepareForCreate(rc)
	s.Default(rc)
	s.PrepareForUpdate(rc, want)
	if !reflect.DeepEqual(rc, want) {
		t.Errorf("class changed to %+v", rc)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*nodev1.RuntimeClass)
		want   []string
	}{
		{name: "valid", change: func(*nodev1.RuntimeClass) {}},
		{name: "handler only", change: func(rc *nodev1.RuntimeClass) {
			rc.Overhead, rc.Scheduling = nil, nil
		}},
		{
			name:   "no handler",
			change: func(rc *nodev1.RuntimeClass) { rc.Handler = "" },
			want:   []string{"handler: Required value"},
		},
		{
			name:   "handler with dots",
			change: func(rc *nodev1.RuntimeClass) { rc.Handler = "kata.qemu" },
			want:   []string{`handler: Invalid value: "kata.qemu": must not contain dots`},
		},
		{
			// Handler errors follow the others, as upstream's declarative ones do.
			name: "bad handler after bad overhead",
			change: func(rc *nodev1.RuntimeClass) {
				rc.Handler = "Kata"
				rc.Overhead.PodFixed[corev1.ResourceCPU] = resource.MustParse("-1")
			},
			want: []string{
				`overhead.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0`,
				`handler: Invalid value: "Kata": ` + notLabel,
			},
		},
		{
			name: "overhead resources",
			change: func(rc *nodev1.RuntimeClass) {
				rc.Overhead.PodFixed = corev1.ResourceList{
					"example.com/gpu":     resource.MustParse("500m"),
					"foo":                 resource.MustParse("1"),
					corev1.ResourcePods:   resource.MustParse("1"),
					"hugepages-2Mi":       resource.MustParse("3Mi"),
					"kubernetes.io/thing": resource.MustParse("1"),
					"bad/name/x":          resource.MustParse("1"),
				}
			},
			want: []string{
				`overhead.limits[bad/name/x]: Invalid value: "bad/name/x": a valid label key must consist of alphanumeric characters, '-', '_' or '.', ` +
					`and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', ` +
					`regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
				`overhead.limits[bad/name/x]: Invalid value: "bad/name/x": doesn't follow extended resource name standard`,
				`overhead.limits[example.com/gpu]: Invalid value: "500m": must be an integer`,
				`overhead.limits[foo]: Invalid value: "foo": must be a standard resource type or fully qualified`,
				`overhead.limits[foo]: Invalid value: "foo": must be a standard resource for containers`,
				`overhead.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
				`overhead.limits[pods]: Invalid value: "pods": must be a standard resource for containers`,
				`overhead: Forbidden: HugePages require cpu or memory`,
			},
		},
		{
			name: "node selector",
			change: func(rc *nodev1.RuntimeClass) {
				rc.Scheduling.NodeSelector = map[string]string{"a/b/c": "ok", "good": "not ok"}
			},
			want: []string{
				`scheduling.nodeSelector: Invalid value: "a/b/c": a valid label key must consist of alphanumeric characters, '-', '_' or '.', ` +
					`and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', ` +
					`regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
				`scheduling.nodeSelector: Invalid value: "not ok": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', ` +
					`and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', ` +
					`regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
			},
		},
		{
			name: "tolerations",
			change: func(rc *nodev1.RuntimeClass) {
				rc.Scheduling.Tolerations = []corev1.Toleration{
					{Operator: corev1.TolerationOpExists},
					{Key: "a", Value: "b"},
					{Value: "x"},
					{Key: "a", Operator: corev1.TolerationOpExists, Value: "v", TolerationSeconds: ptr.To[int64](5)},
					{Key: "a", Operator: corev1.TolerationOpLt, Value: "5"},
					{Key: "a", Operator: "Like", Effect: "Sometimes"},
					{Key: "a", Value: "b"},
				}
			},
			want: []string{
				`scheduling.tolerations[2].operator: Invalid value: "": operator must be Exists when ` + "`key`" + ` is empty, which means "match all values and all keys"`,
				`scheduling.tolerations[3].effect: Invalid value: "": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`,
				`scheduling.tolerations[3].operator: Invalid value: "v": value must be empty when ` + "`operator`" + ` is 'Exists'`,
				`scheduling.tolerations[4].operator: Unsupported value: "Lt": supported values: "Equal", "Exists", "Lt", "Gt"`,
				`scheduling.tolerations[5].operator: Unsupported value: "Like": supported values: "Equal", "Exists"`,
				`scheduling.tolerations[5].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`,
				`scheduling.tolerations[6]: Duplicate value: {"Key":"a","Operator":"","Value":"b","Effect":"","TolerationSeconds":null}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newClass("gvisor")
			tt.change(rc)
			if got := messages(New().Validate(rc)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    func(*nodev1.RuntimeClass)
		change func(*nodev1.RuntimeClass)
		want   []string
	}{
		{name: "overhead and scheduling may change", change: func(rc *nodev1.RuntimeClass) {
			rc.Overhead = nil
			rc.Scheduling.NodeSelector["zone"] = "a"
		}},
		{
			name:   "new scheduling still checked",
			change: func(rc *nodev1.RuntimeClass) { rc.Scheduling.Tolerations[0].Effect = "Never" },
			want:   []string{`scheduling.tolerations[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`},
		},
		{
			name:   "handler changed",
			change: func(rc *nodev1.RuntimeClass) { rc.Handler = "kata" },
			want:   []string{"handler: Invalid value: null: field is immutable"},
		},
		{
			// The format is the handwritten check's, reported first.
			name: "handler changed to a bad one",
			change: func(rc *nodev1.RuntimeClass) {
				rc.Handler = "kata.qemu"
				rc.Overhead.PodFixed[corev1.ResourceMemory] = resource.MustParse("-1")
			},
			want: []string{
				`handler: Invalid value: "kata.qemu": must not contain dots`,
				`overhead.limits[memory]: Invalid value: "-1": must be greater than or equal to 0`,
				"handler: Invalid value: null: field is immutable",
			},
		},
		{
			name:   "handler removed",
			change: func(rc *nodev1.RuntimeClass) { rc.Handler = "" },
			want:   []string{"handler: Invalid value: null: field is immutable", "handler: Required value"},
		},
		{
			// Declarative checks pass over what did not change; the handwritten do not.
			name: "bad handler kept",
			old:  func(rc *nodev1.RuntimeClass) { rc.Handler = "Old" },
			change: func(rc *nodev1.RuntimeClass) {
				rc.Overhead.PodFixed[corev1.ResourceMemory] = resource.MustParse("-1")
			},
			want: []string{
				`handler: Invalid value: "Old": ` + notLabel,
				`overhead.limits[memory]: Invalid value: "-1": must be greater than or equal to 0`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newClass("gvisor")
			if tt.old != nil {
				tt.old(old)
			}
			rc := old.DeepCopy()
			tt.change(rc)
			if got := messages(New().ValidateUpdate(rc, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestTable(t *testing.T) {
	s := New()
	old := newClass("gvisor")
	old.CreationTimestamp = metav1.NewTime(now.Add(-49 * time.Hour))
	tests := []struct {
		name string
		rc   *nodev1.RuntimeClass
		want []interface{}
	}{
		{name: "two days old", rc: old, want: []interface{}{"gvisor", "runsc", "2d1h"}},
		{name: "new", rc: &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "kata"}, Handler: "kata"}, want: []interface{}{"kata", "kata", "<unknown>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Row(tt.rc, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
	var got []string
	for _, c := range s.Columns() {
		got = append(got, c.Name+":"+c.Type)
	}
	if want := []string{"Name:string", "Handler:string", "Age:string"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
}
