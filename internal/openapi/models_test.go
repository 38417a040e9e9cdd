package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/util/proto"
	protovalidation "k8s.io/kube-openapi/pkg/util/proto/validation"
	"sigs.k8s.io/yaml"
)

func podResources() []Resource {
	return []Resource{newResource("", "Pod", "pods", true, &corev1.Pod{}, &corev1.PodList{}, "status")}
}

func mustBuild(t *testing.T, resources []Resource) *documents {
	t.Helper()
	docs, err := build(resources)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return docs
}

// toMap round-trips v through JSON, to compare schemas as clients see them.
func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelName(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[corev1.Pod](), "io.k8s.api.core.v1.Pod"},
		{reflect.TypeFor[metav1.ObjectMeta](), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{reflect.TypeFor[resource.Quantity](), "io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{reflect.TypeFor[intstr.IntOrString](), "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{reflect.TypeFor[runtime.RawExtension](), "io.k8s.apimachinery.pkg.runtime.RawExtension"},
		{reflect.TypeFor[metav1.WatchEvent](), "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"},
		{reflect.TypeFor[route](), "com.github.podium.podium.internal.openapi.route"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := modelName(tt.typ); got != tt.want {
				t.Errorf("modelName(%v) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
}

func TestPodSchemaV2(t *testing.T) {
	defs := toMap(t, mustBuild(t, podResources()).v2)["definitions"].(map[string]any)
	def := func(name string) map[string]any {
		t.Helper()
		d, ok := defs[name].(map[string]any)
		if !ok {
			t.Fatalf("no definition %s", name)
		}
		return d
	}
	prop := func(model, field string) map[string]any {
		t.Helper()
		p, ok := def(model)["properties"].(map[string]any)[field].(map[string]any)
		if !ok {
			t.Fatalf("%s has no property %s", model, field)
		}
		return p
	}
	gvk := func(group, version, kind string) []any {
		return []any{map[string]any{"group": group, "version": version, "kind": kind}}
	}
	containerDoc := corev1.Container{}.SwaggerDoc()
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Pod GVK", def("io.k8s.api.core.v1.Pod")[extGVK], gvk("", "v1", "Pod")},
		{"PodList GVK", def("io.k8s.api.core.v1.PodList")[extGVK], gvk("", "v1", "PodList")},
		{"Status GVK", def("io.k8s.apimachinery.pkg.apis.meta.v1.Status")[extGVK], gvk("", "v1", "Status")},
		{"DeleteOptions GVK", def("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")[extGVK], gvk("", "v1", "DeleteOptions")},
		{"WatchEvent GVK", def("io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent")[extGVK], gvk("", "v1", "WatchEvent")},
		{"Pod description", def("io.k8s.api.core.v1.Pod")["description"], corev1.Pod{}.SwaggerDoc()[""]},
		{"Container.livenessProbe", prop("io.k8s.api.core.v1.Container", "livenessProbe"), map[string]any{
			"$ref":        "#/definitions/io.k8s.api.core.v1.Probe",
			"description": containerDoc["livenessProbe"],
		}},
		{"Container.name", prop("io.k8s.api.core.v1.Container", "name"), map[string]any{
			"type": "string", "description": containerDoc["name"],
		}},
		{"Container required", def("io.k8s.api.core.v1.Container")["required"], []any{"name"}},
		{"PodSpec required", def("io.k8s.api.core.v1.PodSpec")["required"], []any{"containers"}},
		{"Pod required", def("io.k8s.api.core.v1.Pod")["required"], nil},
		{"PodSpec.containers", prop("io.k8s.api.core.v1.PodSpec", "containers")["x-kubernetes-patch-merge-key"], "name"},
		{"PodSpec.containers strategy", prop("io.k8s.api.core.v1.PodSpec", "containers")["x-kubernetes-patch-strategy"], "merge"},
		{"PodSpec.containers items", prop("io.k8s.api.core.v1.PodSpec", "containers")["items"], map[string]any{
			"$ref": "#/definitions/io.k8s.api.core.v1.Container",
		}},
		{"Container.terminationGracePeriod int64", prop("io.k8s.api.core.v1.PodSpec", "terminationGracePeriodSeconds")["format"], "int64"},
		{"ContainerPort.containerPort int32", prop("io.k8s.api.core.v1.ContainerPort", "containerPort")["format"], "int32"},
		{"ObjectMeta.labels", prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels")["additionalProperties"], map[string]any{"type": "string"}},
		{"ObjectMeta.creationTimestamp", prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp")["$ref"], "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time"},
		{"ObjectMeta.uid", prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "uid")["type"], "string"},
		{"HTTPGetAction.port", prop("io.k8s.api.core.v1.HTTPGetAction", "port")["$ref"], "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{"ResourceRequirements.limits", prop("io.k8s.api.core.v1.ResourceRequirements", "limits")["additionalProperties"], map[string]any{
			"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity",
		}},
		{"IntOrString", without(def("io.k8s.apimachinery.pkg.util.intstr.IntOrString"), "description"), map[string]any{
			"type": "string", "format": "int-or-string", extIntOrString: true,
		}},
		{"Quantity", without(def("io.k8s.apimachinery.pkg.api.resource.Quantity"), "description"), map[string]any{"type": "string"}},
		{"Time", without(def("io.k8s.apimachinery.pkg.apis.meta.v1.Time"), "description"), map[string]any{"type": "string", "format": "date-time"}},
		{"FieldsV1", without(def("io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"), "description"), map[string]any{"type": "object"}},
		{"RawExtension", without(def("io.k8s.apimachinery.pkg.runtime.RawExtension"), "description"), map[string]any{"type": "object"}},
		{"WatchEvent required", def("io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent")["required"], []any{"type", "object"}},
		{"Patch", without(def("io.k8s.apimachinery.pkg.apis.meta.v1.Patch"), "description"), map[string]any{"type": "object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v\nwant %#v", tt.got, tt.want)
			}
		})
	}
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func TestPodSchemaV3(t *testing.T) {
	docs := mustBuild(t, podResources())
	if got, want := docs.groupVersions(), []string{"api/v1"}; !slices.Equal(got, want) {
		t.Fatalf("v3 documents = %v, want %v", got, want)
	}
	schemas := toMap(t, docs.v3["api/v1"])["components"].(map[string]any)["schemas"].(map[string]any)
	def := func(name string) map[string]any {
		t.Helper()
		d, ok := schemas[name].(map[string]any)
		if !ok {
			t.Fatalf("no schema %s", name)
		}
		return d
	}
	probe := def("io.k8s.api.core.v1.Container")["properties"].(map[string]any)["livenessProbe"]
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Container.livenessProbe", probe, map[string]any{
			"allOf":       []any{map[string]any{"$ref": "#/components/schemas/io.k8s.api.core.v1.Probe"}},
			"description": corev1.Container{}.SwaggerDoc()["livenessProbe"],
		}},
		{"Pod GVK", def("io.k8s.api.core.v1.Pod")[extGVK], []any{map[string]any{"group": "", "version": "v1", "kind": "Pod"}}},
		{"IntOrString", without(def("io.k8s.apimachinery.pkg.util.intstr.IntOrString"), "description"), map[string]any{
			"oneOf":  []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}},
			"format": "int-or-string", extIntOrString: true,
		}},
		{"Quantity", without(def("io.k8s.apimachinery.pkg.api.resource.Quantity"), "description"), map[string]any{
			"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}},
		}},
		{"Time", without(def("io.k8s.apimachinery.pkg.apis.meta.v1.Time"), "description"), map[string]any{"type": "string", "format": "date-time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v\nwant %#v", tt.got, tt.want)
			}
		})
	}
}

// TestRefsResolve checks that every reference in each document names a schema of
// that document.
func TestRefsResolve(t *testing.T) {
	docs := mustBuild(t, testResources())
	check := func(t *testing.T, doc any, prefix, defsPath string) {
		m := toMap(t, doc)
		defs := m
		for _, k := range strings.Split(defsPath, ".") {
			defs = defs[k].(map[string]any)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok {
					if _, found := defs[strings.TrimPrefix(ref, prefix)]; !strings.HasPrefix(ref, prefix) || !found {
						t.Errorf("unresolved reference %s", ref)
					}
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		walk(m)
	}
	t.Run("v2", func(t *testing.T) { check(t, docs.v2, v2DefinitionsPath, "definitions") })
	for name, doc := range docs.v3 {
		t.Run(name, func(t *testing.T) { check(t, doc, v3SchemasPath, "components.schemas") })
	}
}

func TestBuildErrors(t *testing.T) {
	pods := podResources()[0]
	noList := pods
	noList.List = nil
	noVerbs := pods
	noVerbs.Verbs = nil
	typo := pods
	typo.Verbs = []string{"get", "lsit"}
	tests := []struct {
		name      string
		resources []Resource
		want      string
	}{
		{"missing list", []Resource{noList}, "are required"},
		{"duplicate", []Resource{pods, pods}, "listed twice"},
		{"no verbs", []Resource{noVerbs}, "no verbs"},
		{"unknown verb", []Resource{typo}, `unknown verb "lsit"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.resources)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestClientSideValidation runs kubectl's own client-side validator (used when a
// server lacks the fieldValidation parameter, and by kubectl before 1.25) over the
// v2 document: valid manifests pass, broken ones fail.
func TestClientSideValidation(t *testing.T) {
	docs := mustBuild(t, testResources())
	b, err := json.Marshal(docs.v2)
	if err != nil {
		t.Fatal(err)
	}
	gnostic, err := openapi_v2.ParseDocument(b)
	if err != nil {
		t.Fatalf("gnostic: %v", err)
	}
	models, err := proto.NewOpenAPIData(gnostic)
	if err != nil {
		t.Fatalf("proto models: %v", err)
	}
	tests := []struct {
		name, model, manifest string
		wantErr               string // "" for valid
	}{
		{"kubectl run", "io.k8s.api.core.v1.Pod", `
apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels: {run: nginx}
  name: nginx
spec:
  containers:
  - image: nginx
    name: nginx
    resources: {}
  dnsPolicy: ClusterFirst
  restartPolicy: Always
status: {}
`, ""},
		{"full pod", "io.k8s.api.core.v1.Pod", `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, annotations: {a: b}}
spec:
  terminationGracePeriodSeconds: 5
  volumes: [{name: data, emptyDir: {sizeLimit: 1Gi}}, {name: cfg, configMap: {name: cfg}}]
  containers:
  - name: web
    image: nginx
    command: [nginx, -g, daemon off;]
    env: [{name: A, value: "1"}, {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    ports: [{containerPort: 80, name: http, protocol: TCP}]
    resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 1, memory: 1Gi}}
    livenessProbe: {httpGet: {path: /, port: http}, periodSeconds: 10}
    readinessProbe: {tcpSocket: {port: 80}}
    volumeMounts: [{name: data, mountPath: /data}]
    securityContext: {runAsUser: 1000, capabilities: {drop: [ALL]}}
  tolerations: [{key: k, operator: Exists, effect: NoSchedule}]
`, ""},
		{"deployment", "io.k8s.api.apps.v1.Deployment", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`, ""},
		{"service", "io.k8s.api.core.v1.Service", `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
`, ""},
		{"configmap", "io.k8s.api.core.v1.ConfigMap", `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {key: value}
binaryData: {bin: aGVsbG8=}
`, ""},
		{"lease", "io.k8s.api.coordination.v1.Lease", `
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: l}
spec: {holderIdentity: me, leaseDurationSeconds: 15, renewTime: "2026-01-01T00:00:00.000000Z"}
`, ""},
		{"core event", "io.k8s.api.core.v1.Event", `
apiVersion: v1
kind: Event
metadata: {name: e}
involvedObject: {kind: Pod, name: p}
reason: Started
`, ""},
		{"container without name", "io.k8s.api.core.v1.Pod", `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{image: nginx}]}
`, `missing required field "name"`},
		{"unknown field", "io.k8s.api.core.v1.Pod", `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: nginx, imagePullPolicyy: Always}]}
`, `unknown field "imagePullPolicyy"`},
		{"wrong type", "io.k8s.api.core.v1.Pod", `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: nginx, ports: [{containerPort: eighty}]}]}
`, `invalid type for io.k8s.api.core.v1.ContainerPort.containerPort`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj any
			if err := yaml.Unmarshal([]byte(tt.manifest), &obj); err != nil {
				t.Fatal(err)
			}
			model := models.LookupModel(tt.model)
			if model == nil {
				t.Fatalf("no model %s", tt.model)
			}
			errs := protovalidation.ValidateModel(obj, model, tt.model)
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("unexpected errors: %v", errs)
			case tt.wantErr != "" && !strings.Contains(joinErrors(errs), tt.wantErr):
				t.Errorf("errors %v, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}

func joinErrors(errs []error) string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return strings.Join(s, "; ")
}

// TestSchemaTypes checks that every property of every definition has a type, a
// reference or is deliberately free-form.
func TestSchemaTypes(t *testing.T) {
	docs := mustBuild(t, testResources())
	for name, s := range docs.v2.Definitions {
		for field, p := range s.Properties {
			if len(p.Type) == 0 && p.Ref.String() == "" {
				t.Errorf("%s.%s has neither type nor reference: %#v", name, field, p)
			}
		}
	}
}

// BenchmarkNew measures start-up: generating the documents of a dozen resources.
func BenchmarkNew(b *testing.B) {
	resources := testResources()
	for b.Loop() {
		if _, err := New(resources); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstRequest measures serializing the v2 document in both forms, the
// work the first GET /openapi/v2 does.
func BenchmarkFirstRequest(b *testing.B) {
	resources := testResources()
	for b.Loop() {
		s, err := New(resources)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.v2.Load().proto.Get(); err != nil {
			b.Fatal(err)
		}
	}
}
