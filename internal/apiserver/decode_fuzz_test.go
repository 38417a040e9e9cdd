package apiserver

import (
	"bytes"
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/registry/builtin"
)

// The fuzz targets of the API server feed it what clients send: request bodies, patches,
// selectors, DeleteOptions, Accept headers and URLs. They run on a Server without
// storage (fuzzServer): decoding, the strategies and dry-run writes never reach etcd.
// Besides not panicking, every error a target meets must be one the server answers with
// a 4xx status, as statusError maps it: bad input is the client's fault, not a 500.

// fuzzServer returns a Server serving every resource podium serves, on no storage and a
// fake clock, and its resources in a fixed order, so that a fuzz input can pick one by
// index. Adding a strategy shifts the indices: corpus entries then test another
// resource, which is harmless.
func fuzzServer(f *testing.F) (*Server, []*resource) {
	f.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{
		Scheme:     scheme,
		Strategies: builtin.Strategies(),
		Clock:      clocktesting.NewFakePassiveClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	var resources []*resource
	for _, res := range s.builtin.resources {
		resources = append(resources, res)
	}
	slices.SortFunc(resources, func(a, b *resource) int {
		return cmp.Compare(a.info.GroupVersionResource().String(), b.info.GroupVersionResource().String())
	})
	return s, resources
}

// pick returns the resource an input's index names.
func pick(resources []*resource, i uint8) *resource { return resources[int(i)%len(resources)] }

// indexOf returns the index of a resource of the core or a named group, for seeds.
func indexOf(f *testing.F, resources []*resource, group, name string) uint8 {
	f.Helper()
	for i, res := range resources {
		if res.info.Group == group && res.info.Resource == name {
			return uint8(i)
		}
	}
	f.Fatalf("no resource %s in group %q", name, group)
	return 0
}

// wantClientError fails t unless err is answered with one of the 4xx codes.
func wantClientError(t *testing.T, err error, res *resource, codes ...int32) {
	t.Helper()
	code := statusError(err, res.groupResource(), "").Status().Code
	if !slices.Contains(codes, code) {
		t.Fatalf("error answered with %d, want one of %v: %v", code, codes, err)
	}
}

// checkEncodes fails t unless obj, a served object of res, encodes as the server sends
// it (JSON, protobuf) and stores it (protobuf of the stored form), and unless its JSON
// decodes strictly into an object that encodes to the same JSON: whatever the server
// accepts, it can send, store and read back.
func checkEncodes(t *testing.T, s *Server, res *resource, obj runtime.Object) {
	t.Helper()
	obj = s.withKind(obj, res.info.GroupVersionKind())
	data := encodeAs(t, s, mediaJSON, obj)
	encodeAs(t, s, mediaProtobuf, obj)
	stored, err := res.toStored(obj)
	if err != nil {
		t.Fatalf("converting for storage: %v", err)
	}
	encodeAs(t, s, mediaProtobuf, s.withKind(stored, s.kindOf(stored)))

	again, _, err := s.decodeObject(res, mediaJSON, data, validationStrict)
	if err != nil && strings.Contains(err.Error(), "parsing time") {
		// metav1.Time and MicroTime accept a time whose offset puts it outside the years
		// 0-9999 in UTC ("9999-12-31T23:59:59-23:59"), and write it in a form they cannot
		// read back: a limit of apimachinery's types, upstream's as well, reported but not
		// worked around here.
		return
	}
	if err != nil {
		t.Fatalf("decoding the server's own JSON: %v\n%s", err, data)
	}
	if data2 := encodeAs(t, s, mediaJSON, s.withKind(again, res.info.GroupVersionKind())); !bytes.Equal(data, data2) {
		t.Fatalf("JSON changed in a round trip:\n%s\n%s", data, data2)
	}
}

func encodeAs(t *testing.T, s *Server, mediaType string, obj runtime.Object) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.codecs.byType[mediaType].Serializer.Encode(obj, &buf); err != nil {
		t.Fatalf("encoding %T as %s: %v", obj, mediaType, err)
	}
	return buf.Bytes()
}

// checkRow fails t unless the strategy renders obj as a Table row of its columns, as
// kubectl get asks for stored objects.
func checkRow(t *testing.T, s *Server, res *resource, obj runtime.Object) {
	t.Helper()
	if cells, cols := res.strategy.Row(obj, s.clock.Now()), res.strategy.Columns(); len(cells) != len(cols) {
		t.Fatalf("row of %d cells for %d columns", len(cells), len(cols))
	}
}

// protobufOf encodes obj as a client would send it in protobuf.
func protobufOf(f *testing.F, s *Server, obj runtime.Object) []byte {
	f.Helper()
	var buf bytes.Buffer
	if err := s.codecs.byType[mediaProtobuf].Serializer.Encode(obj, &buf); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

var validations = []fieldValidation{validationStrict, validationWarn, validationIgnore}

// FuzzDecodeObject feeds request bodies of creates and updates to decodeObject, then
// creates what it decodes on a dry run, as a POST does. Decoding fails only with 400
// (415 for a Content-Type the server does not speak); a decoded object is of the
// resource's kind, re-encodes, and goes through the strategy's create without a 5xx.
func FuzzDecodeObject(f *testing.F) {
	s, resources := fuzzServer(f)
	pods := indexOf(f, resources, "", "pods")
	podJSON := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"fuzz","labels":{"app":"a"}},` +
		`"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","1"],` +
		`"resources":{"limits":{"cpu":"100m","memory":"1Gi"}},"ports":[{"containerPort":80}]}]}}`
	podYAML := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n"
	pb := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "fuzz"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	for _, seed := range []struct {
		res         uint8
		contentType string
		data        string
	}{
		{pods, mediaJSON, podJSON},
		{pods, "application/json; charset=utf-8", podJSON},
		{pods, mediaYAML, podYAML},
		{pods, mediaProtobuf, string(protobufOf(f, s, pb))},
		{pods, "", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"q"},"spek":{}}`},
		{pods, mediaJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p"}}`},
		{pods, mediaJSON, `{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"p"}}`},
		{pods, mediaJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","creationTimestamp":"2026-01-01T00:00:00Z"}}`},
		{pods, mediaJSON, ``},
		{pods, mediaJSON, `null`},
		{pods, mediaJSON, `[]`},
		{pods, mediaYAML, "---\n---\n"},
		{pods, mediaProtobuf, "k8s\x00"},
		{pods, "text/plain", podJSON},
		{pods, "application/json; =", podJSON},
		{indexOf(f, resources, "", "configmaps"), mediaJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"},"binaryData":{"b":"AAE="}}`},
		{indexOf(f, resources, "", "services"), mediaJSON, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":80,"targetPort":"http"}]}}`},
		{indexOf(f, resources, "", "namespaces"), mediaJSON, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}`},
		{indexOf(f, resources, "events.k8s.io", "events"), mediaJSON, `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"},"eventTime":"2026-01-01T00:00:00.000001Z","reportingController":"c","reportingInstance":"i","action":"a","reason":"r","regarding":{"kind":"Pod","name":"p"},"type":"Normal"}`},
		{indexOf(f, resources, "coordination.k8s.io", "leases"), mediaJSON, `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l"},"spec":{"holderIdentity":"h","leaseDurationSeconds":40,"renewTime":"2026-01-01T00:00:00.000000Z"}}`},
		// Times that write back as years outside 0-9999 (see checkEncodes).
		{indexOf(f, resources, "", "events"), mediaJSON, `{"apiVersion":"v1","kind":"Event","metadata":{"name":"e"},"involvedObject":{"kind":"Pod","name":"p","namespace":"fuzz"},"reason":"r","lastTimestamp":"9999-12-31T23:59:59-23:59"}`},
		{indexOf(f, resources, "", "configmaps"), mediaJSON, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","managedFields":[{"manager":"m","operation":"Update","time":"0000-01-01T00:00:00+23:59"}]}}`},
	} {
		for v := range validations {
			f.Add(seed.res, seed.contentType, uint8(v), []byte(seed.data))
		}
	}
	f.Fuzz(func(t *testing.T, i uint8, contentType string, v uint8, data []byte) {
		res := pick(resources, i)
		validation := validations[int(v)%len(validations)]
		obj, warnings, err := s.decodeObject(res, contentType, data, validation)
		if err != nil {
			wantClientError(t, err, res, http.StatusBadRequest, http.StatusUnsupportedMediaType)
			return
		}
		if want := reflect.TypeOf(res.strategy.New()); reflect.TypeOf(obj) != want {
			t.Fatalf("decoded a %T, want a %v", obj, want)
		}
		if validation != validationWarn && len(warnings) > 0 {
			t.Fatalf("warnings under %s: %q", validation, warnings)
		}
		checkEncodes(t, s, res, obj)

		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatalf("decoded object has no metadata: %v", err)
		}
		if err := checkNamespace(res, m, "fuzz"); err != nil {
			wantClientError(t, err, res, http.StatusBadRequest)
			return
		}
		created, err := s.createOne(context.Background(), res, obj, writeOptions{dryRun: true})
		if err != nil {
			wantClientError(t, err, res, http.StatusUnprocessableEntity)
			return
		}
		checkEncodes(t, s, res, created)
		checkRow(t, s, res, created)
	})
}

// FuzzDecodeInto feeds the bodies of the binding and eviction subresources to
// decodeInto: it fails only with 400 or 415, and otherwise fills the object it was given.
func FuzzDecodeInto(f *testing.F) {
	s, resources := fuzzServer(f)
	pods := resources[indexOf(f, resources, "", "pods")]
	binding := &corev1.Binding{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Binding"},
		ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n"}}
	for _, seed := range []struct {
		eviction    bool
		contentType string
		data        string
	}{
		{false, mediaJSON, `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n"}}`},
		{false, mediaJSON, `{"metadata":{"name":"p"},"target":{"name":"n"},"extra":1}`},
		{false, mediaYAML, "apiVersion: v1\nkind: Binding\nmetadata:\n  name: p\ntarget:\n  name: n\n"},
		{false, mediaProtobuf, string(protobufOf(f, s, binding))},
		{false, mediaJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}`},
		{true, mediaJSON, `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"p"},"deleteOptions":{"gracePeriodSeconds":0}}`},
		{true, mediaJSON, `{"apiVersion":"policy/v1beta1","kind":"Eviction","metadata":{"name":"p"}}`},
		{true, "", `null`},
		{true, "text/plain", `{}`},
	} {
		f.Add(seed.eviction, seed.contentType, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, eviction bool, contentType string, data []byte) {
		var into runtime.Object = &corev1.Binding{}
		if eviction {
			into = &policyv1.Eviction{}
		}
		r, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", contentType)
		if err := s.decodeInto(r, into); err != nil {
			wantClientError(t, err, pods, http.StatusBadRequest, http.StatusUnsupportedMediaType)
			return
		}
		encodeAs(t, s, mediaJSON, into)
		encodeAs(t, s, mediaProtobuf, into)
	})
}
