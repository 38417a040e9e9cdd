package quota

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
)

// errNotSynced is what store's list returns for resources marked broken.
var errNotSynced = errors.New("not synced")

// store is an in-memory ListFunc: objects by resource and namespace.
type store struct {
	objects map[schema.GroupVersionResource][]runtime.Object
	broken  map[schema.GroupVersionResource]bool // lists of these fail with errNotSynced
}

func newStore(objs ...runtime.Object) *store {
	s := &store{objects: map[schema.GroupVersionResource][]runtime.Object{}, broken: map[schema.GroupVersionResource]bool{}}
	for _, o := range objs {
		var gvr schema.GroupVersionResource
		switch o.(type) {
		case *corev1.Pod:
			gvr = podsResource
		case *corev1.Service:
			gvr = servicesResource
		case *corev1.PersistentVolumeClaim:
			gvr = pvcsResource
		case *corev1.ConfigMap:
			gvr = corev1.SchemeGroupVersion.WithResource("configmaps")
		case *corev1.Secret:
			gvr = corev1.SchemeGroupVersion.WithResource("secrets")
		default:
			panic("store: unknown type")
		}
		s.objects[gvr] = append(s.objects[gvr], o)
	}
	return s
}

func (s *store) list(gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error) {
	if s.broken[gvr] {
		return nil, errNotSynced
	}
	var out []runtime.Object
	for _, o := range s.objects[gvr] {
		if o.(interface{ GetNamespace() string }).GetNamespace() == namespace {
			out = append(out, o)
		}
	}
	return out, nil
}

// rl parses name=quantity pairs into a resource list.
func rl(pairs ...string) corev1.ResourceList {
	if len(pairs)%2 != 0 {
		panic("rl: odd pairs")
	}
	out := corev1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

// wantUsage fails t unless got and want hold the same names at equal quantities.
func wantUsage(t *testing.T, got, want corev1.ResourceList) {
	t.Helper()
	if !quotav1.Equals(got, want) {
		t.Errorf("usage = %v, want %v", format(got), format(want))
	}
}

func format(l corev1.ResourceList) map[corev1.ResourceName]string {
	out := map[corev1.ResourceName]string{}
	for k, v := range l {
		out[k] = v.String()
	}
	return out
}
