package fieldmanager

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	extensionsapply "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	aggregatorapply "k8s.io/kube-aggregator/pkg/client/applyconfiguration"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Managers makes and keeps the FieldManagers of the served kinds. It is safe for
// concurrent use.
type Managers struct {
	scheme *runtime.Scheme

	once sync.Once
	tcs  []managedfields.TypeConverter // client-go's, apiextensions-apiserver's, kube-aggregator's

	mu   sync.Mutex
	byID map[id]*managedfields.FieldManager
}

type id struct {
	gvk         schema.GroupVersionKind
	subresource string
}

// New returns Managers for the kinds registered in scheme. The schemas are parsed on
// first use, which takes about 100 ms; Warm starts that early.
func New(scheme *runtime.Scheme) *Managers {
	return &Managers{scheme: scheme, byID: map[id]*managedfields.FieldManager{}}
}

// Warm parses the schemas in the background, so that the first write does not wait.
func (m *Managers) Warm() { go m.typeConverters() }

// typeConverters returns the schemas of the built-in kinds, from the applyconfigurations
// of the modules that define them.
func (m *Managers) typeConverters() []managedfields.TypeConverter {
	m.once.Do(func() {
		m.tcs = []managedfields.TypeConverter{
			applyconfigurations.NewTypeConverter(m.scheme),
			extensionsapply.NewTypeConverter(m.scheme),
			aggregatorapply.NewTypeConverter(m.scheme),
		}
	})
	return m.tcs
}

// typeConverterFor returns the first schema that describes example's kind, or deduced
// types (maps merging key by key, lists atomic) for a kind none describes.
func (m *Managers) typeConverterFor(kind schema.GroupVersionKind, example runtime.Object) managedfields.TypeConverter {
	probe := example.DeepCopyObject()
	probe.GetObjectKind().SetGroupVersionKind(kind)
	for _, tc := range m.typeConverters() {
		if _, err := tc.ObjectToTyped(probe); err == nil {
			return tc
		}
	}
	return managedfields.NewDeducedTypeConverter()
}

// For returns the FieldManager of writes to kind through subresource ("" for the
// object itself). example is an empty object of the kind; defaults fills an applied
// object's defaults, as the strategy of the resource does.
func (m *Managers) For(kind schema.GroupVersionKind, subresource string, example runtime.Object, defaults func(runtime.Object)) (*managedfields.FieldManager, error) {
	key := id{kind, subresource}
	m.mu.Lock()
	fm := m.byID[key]
	m.mu.Unlock()
	if fm != nil {
		return fm, nil
	}
	gv := kind.GroupVersion()
	fm, err := managedfields.NewDefaultFieldManager(m.typeConverterFor(kind, example), oneVersion{m.scheme, gv}, defaulter(defaults),
		m.scheme, kind, gv, subresource, resetFields(gv, example, subresource))
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev := m.byID[key]; prev != nil {
		return prev, nil
	}
	m.byID[key] = fm
	return fm, nil
}

// Scale returns the FieldManager of applies to the scale subresource, whose
// autoscaling/v1 Scale the built-in schemas do not describe: its fields are deduced
// from the object, which for a Scale's few scalars merges as a schema would.
func (m *Managers) Scale() (*managedfields.FieldManager, error) {
	key := id{scaleKind, "scale"}
	m.mu.Lock()
	defer m.mu.Unlock()
	if fm := m.byID[key]; fm != nil {
		return fm, nil
	}
	fm, err := managedfields.NewDefaultFieldManager(managedfields.NewDeducedTypeConverter(), oneVersion{m.scheme, scaleKind.GroupVersion()},
		defaulter(nil), m.scheme, scaleKind, scaleKind.GroupVersion(), "scale", resetFields(scaleKind.GroupVersion(), &autoscalingv1.Scale{}, ""))
	if err != nil {
		return nil, err
	}
	m.byID[key] = fm
	return fm, nil
}

var scaleKind = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// resetFields names the fields a write through subresource does not change, so that
// they are neither applied nor owned by it: the status, for writes of the object; the
// spec, for writes of the status. Kinds without both have none.
func resetFields(gv schema.GroupVersion, example runtime.Object, subresource string) map[fieldpath.APIVersion]fieldpath.Filter {
	t := reflect.TypeOf(example)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	_, hasSpec := t.FieldByName("Spec")
	_, hasStatus := t.FieldByName("Status")
	var reset *fieldpath.Set
	switch {
	case subresource == "" && hasStatus:
		reset = fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	case subresource == "status" && hasSpec:
		reset = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	default:
		return nil
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{
		fieldpath.APIVersion(gv.String()): fieldpath.NewExcludeSetFilter(reset),
	}
}

// oneVersion converts objects within one group version only. A resource stored in
// another form (events.k8s.io/v1 events kept as core/v1 ones) records its managers with
// the version it is served in; entries of the other version cannot be converted, and
// managedfields drops them on the next write, which a "not registered" error asks for.
type oneVersion struct {
	scheme *runtime.Scheme
	gv     schema.GroupVersion
}

func (c oneVersion) Convert(in, out, context any) error { return c.scheme.Convert(in, out, context) }

func (c oneVersion) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	if gv, ok := target.(schema.GroupVersion); ok && gv != c.gv {
		return nil, runtime.NewNotRegisteredGVKErrForTarget(c.scheme.Name(), in.GetObjectKind().GroupVersionKind(), target)
	}
	return c.scheme.ConvertToVersion(in, target)
}

func (c oneVersion) ConvertFieldLabel(gvk schema.GroupVersionKind, label, value string) (string, string, error) {
	return c.scheme.ConvertFieldLabel(gvk, label, value)
}

type defaulter func(runtime.Object)

func (d defaulter) Default(obj runtime.Object) {
	if d != nil {
		d(obj)
	}
}

// Name is the manager of a write: its fieldManager parameter, or else the User-Agent up
// to its first "/" (kubectl/v1.37.2 ... is "kubectl"), without unprintable characters
// and cut to the longest name allowed, as kube-apiserver names it.
func Name(fieldManager, userAgent string) string {
	if fieldManager != "" {
		return fieldManager
	}
	prefix, _, _ := strings.Cut(userAgent, "/")
	var b bytes.Buffer
	for _, r := range prefix {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > metav1validation.FieldManagerMaxLength {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
