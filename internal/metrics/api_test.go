package metrics

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/auth"
)

const (
	adminToken = "admin"
	userToken  = "user"
)

// fakeCluster is a Cluster of fixed nodes and pods.
type fakeCluster struct {
	nodes []*corev1.Node
	pods  []*corev1.Pod
}

func (c *fakeCluster) Nodes() []*corev1.Node { return c.nodes }

func (c *fakeCluster) Node(name string) (*corev1.Node, bool) {
	for _, n := range c.nodes {
		if n.Name == name {
			return n, true
		}
	}
	return nil, false
}

func (c *fakeCluster) Pods(namespace string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range c.pods {
		if namespace == "" || p.Namespace == namespace {
			out = append(out, p)
		}
	}
	return out
}

func (c *fakeCluster) Pod(namespace, name string) (*corev1.Pod, bool) {
	for _, p := range c.pods {
		if p.Namespace == namespace && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// tokenUsers authenticates the admin and a plain user.
type tokenUsers struct{}

func (tokenUsers) Authenticate(r *http.Request) (*auth.User, bool) {
	switch r.Header.Get("Authorization") {
	case "Bearer " + adminToken:
		return &auth.User{Name: "admin", Groups: []string{auth.MastersGroup, auth.AuthenticatedGroup}}, true
	case "Bearer " + userToken:
		return &auth.User{Name: "jane", Groups: []string{auth.AuthenticatedGroup}}, true
	}
	return nil, false
}

// onlyPodsInDefault lets the admin do anything, and jane list and get pods'
// metrics in namespace default only.
type onlyPodsInDefault struct{}

func (onlyPodsInDefault) Authorize(_ context.Context, u *auth.User, a auth.Attributes) (bool, string) {
	if u.Name == "admin" || (a.Group == "metrics.k8s.io" && a.Resource == "pods" && a.Namespace == "default" && (a.Verb == "get" || a.Verb == "list")) {
		return true, ""
	}
	return false, "no"
}

// newMetricsServer is an API server that serves only metrics.k8s.io, from a store with
// two rounds of readings of node n1 and pods default/web (two containers, labelled
// app=web), default/db (app=db) and kube-system/dns; node n2 and pod default/new have
// one reading only.
func newMetricsServer(t *testing.T) *httptest.Server {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := metricsv1beta1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	pod := func(ns, name, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}}}
	}
	cluster := &fakeCluster{
		nodes: []*corev1.Node{
			{ObjectMeta: metav1.ObjectMeta{Name: "n2", Labels: map[string]string{"zone": "b"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}}},
		},
		pods: []*corev1.Pod{pod("default", "web", "web"), pod("default", "db", "db"), pod("kube-system", "dns", "dns"), pod("default", "new", "new"), pod("default", "idle", "idle")},
	}
	store := NewStore(15 * time.Second)
	round := func(ts time.Time, k float64, withNew bool) Batch {
		b := Batch{Nodes: map[string]Point{"n1": {Timestamp: ts, CPU: uint64(k * 20e9), Memory: 2 << 30}},
			Pods: map[types.NamespacedName]map[string]Point{
				{Namespace: "default", Name: "web"}: {
					"app":  {StartTime: at(-600), Timestamp: ts, CPU: uint64(k * 3e9), Memory: 10 << 20},
					"side": {StartTime: at(-600), Timestamp: ts, CPU: uint64(k * 1.5e9), Memory: 5 << 20},
				},
				{Namespace: "default", Name: "db"}:      {"db": {StartTime: at(-600), Timestamp: ts, CPU: uint64(k * 15e9), Memory: 100 << 20}},
				{Namespace: "kube-system", Name: "dns"}: {"dns": {StartTime: at(-600), Timestamp: ts, CPU: uint64(k * 0.15e9), Memory: 20 << 20}},
			}}
		if withNew {
			b.Nodes["n2"] = Point{Timestamp: ts, CPU: 1, Memory: 1}
			b.Pods[types.NamespacedName{Namespace: "default", Name: "new"}] = map[string]Point{"c": {StartTime: ts.Add(-time.Second), Timestamp: ts, CPU: 1, Memory: 1}}
		}
		return b
	}
	store.Add(round(at(0), 1, false))
	store.Add(round(at(15), 2, true))
	clk := clocktesting.NewFakePassiveClock(at(20))
	api, err := apiserver.New(apiserver.Config{
		Scheme: scheme, Authenticator: tokenUsers{}, Authorizer: onlyPodsInDefault{}, Clock: clk,
		Logger:   slog.New(slog.DiscardHandler),
		ReadOnly: []apiserver.ReadOnlyResource{NewNodeMetrics(store, cluster, clk), NewPodMetrics(store, cluster, clk)},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// request makes a GET of path with token and accept, and returns the status and body.
func request(t *testing.T, srv *httptest.Server, token, accept, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAPIGetAndList(t *testing.T) {
	srv := newMetricsServer(t)
	tests := []struct {
		name, token, path string
		wantCode          int
		plain             bool // upstream's plain 404 of a path nothing serves, not a Status
		// want are the names of the listed objects, or of the one got.
		want []string
		// wantUsage is the usage of the first object (a pod's containers', in order).
		wantUsage []string
	}{
		{name: "list nodes", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes", wantCode: 200,
			want: []string{"n1"}, wantUsage: []string{"1333333333n", "2Gi"}},
		{name: "get a node", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes/n1", wantCode: 200,
			want: []string{"n1"}, wantUsage: []string{"1333333333n", "2Gi"}},
		{name: "a node with one reading", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes/n2", wantCode: 404},
		{name: "no such node", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes/n9", wantCode: 404},
		{name: "nodes by label", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db", wantCode: 200, want: []string{}},
		{name: "list pods everywhere", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/pods", wantCode: 200,
			want: []string{"default/db", "default/web", "kube-system/dns"}, wantUsage: []string{"1", "100Mi"}},
		{name: "list pods of a namespace", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", wantCode: 200,
			want: []string{"default/db", "default/web"}},
		{name: "pods by label", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app+in+(web,new)", wantCode: 200,
			want: []string{"default/web"}, wantUsage: []string{"200m", "10Mi", "100m", "5Mi"}},
		{name: "pods by field", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?fieldSelector=metadata.name%3Ddb", wantCode: 200,
			want: []string{"default/db"}},
		{name: "pods by an unknown field", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1", wantCode: 400},
		{name: "get a pod", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web", wantCode: 200,
			want: []string{"default/web"}, wantUsage: []string{"200m", "10Mi", "100m", "5Mi"}},
		{name: "a pod without metrics", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/idle", wantCode: 404},
		{name: "a pod with one reading", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/new", wantCode: 404},
		{name: "no such pod", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/gone", wantCode: 404},
		{name: "forbidden namespace", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods", wantCode: 403},
		{name: "forbidden nodes", token: userToken, path: "/apis/metrics.k8s.io/v1beta1/nodes", wantCode: 403},
		{name: "watch", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes?watch=true", wantCode: 405},
		{name: "a namespaced node", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/namespaces/default/nodes", wantCode: 404},
		{name: "a subresource", token: adminToken, path: "/apis/metrics.k8s.io/v1beta1/nodes/n1/status", wantCode: 404},
		{name: "other version", token: adminToken, path: "/apis/metrics.k8s.io/v1/nodes", wantCode: 404, plain: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := request(t, srv, tt.token, "", tt.path)
			if code != tt.wantCode {
				t.Fatalf("GET %s: %d, want %d\n%s", tt.path, code, tt.wantCode, body)
			}
			if tt.plain {
				if body != "404 page not found\n" {
					t.Errorf("body %q, want upstream's plain 404", body)
				}
				return
			}
			if code != http.StatusOK {
				var st metav1.Status
				if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" || st.Code != int32(code) {
					t.Errorf("error body: %s", body)
				}
				return
			}
			var got []string
			var usage []string
			add := func(m metav1.ObjectMeta, cs ...corev1.ResourceList) {
				name := m.Name
				if m.Namespace != "" {
					name = m.Namespace + "/" + name
				}
				got = append(got, name)
				if usage == nil {
					usage = []string{}
					for _, u := range cs {
						cpu, mem := u[corev1.ResourceCPU], u[corev1.ResourceMemory]
						usage = append(usage, cpu.String(), mem.String())
					}
				}
			}
			var typ metav1.TypeMeta
			_ = json.Unmarshal([]byte(body), &typ)
			switch typ.Kind {
			case "NodeMetricsList":
				var l metricsv1beta1.NodeMetricsList
				mustDecode(t, body, &l)
				for _, n := range l.Items {
					add(n.ObjectMeta, n.Usage)
				}
			case "NodeMetrics":
				var n metricsv1beta1.NodeMetrics
				mustDecode(t, body, &n)
				add(n.ObjectMeta, n.Usage)
				if !n.Timestamp.Time.Equal(at(15)) || n.Window.Duration != 15*time.Second || n.Labels["zone"] != "a" || !n.CreationTimestamp.Time.Equal(at(20)) {
					t.Errorf("node metrics: %s", body)
				}
			case "PodMetricsList":
				var l metricsv1beta1.PodMetricsList
				mustDecode(t, body, &l)
				for _, p := range l.Items {
					var cs []corev1.ResourceList
					for _, c := range p.Containers {
						cs = append(cs, c.Usage)
					}
					add(p.ObjectMeta, cs...)
				}
			case "PodMetrics":
				var p metricsv1beta1.PodMetrics
				mustDecode(t, body, &p)
				var cs []corev1.ResourceList
				for _, c := range p.Containers {
					cs = append(cs, c.Usage)
				}
				add(p.ObjectMeta, cs...)
				if p.APIVersion != "metrics.k8s.io/v1beta1" || p.Containers[0].Name != "app" || p.Labels["app"] != "web" || p.Window.Duration != 15*time.Second {
					t.Errorf("pod metrics: %s", body)
				}
			default:
				t.Fatalf("kind %q: %s", typ.Kind, body)
			}
			if got == nil {
				got = []string{}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("names %v, want %v", got, tt.want)
			}
			if tt.wantUsage != nil && strings.Join(usage, ",") != strings.Join(tt.wantUsage, ",") {
				t.Errorf("usage %v, want %v", usage, tt.wantUsage)
			}
		})
	}
}

func mustDecode(t *testing.T, body string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), into); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

// acceptTable is what kubectl get asks for.
const acceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func TestAPITable(t *testing.T) {
	srv := newMetricsServer(t)
	code, body := request(t, srv, adminToken, acceptTable, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
	if code != http.StatusOK {
		t.Fatalf("table: %d %s", code, body)
	}
	var table metav1.Table
	mustDecode(t, body, &table)
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name+":"+c.Format)
	}
	if table.Kind != "Table" || strings.Join(cols, " ") != "Name:name cpu:quantity memory:quantity Window:duration" {
		t.Fatalf("table columns %v: %s", cols, body)
	}
	var rows []string
	for _, r := range table.Rows {
		var cells []string
		for _, c := range r.Cells {
			cells = append(cells, c.(string))
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	// web's usage is its containers' summed.
	if want := "db 1 100Mi 15s|web 300m 15Mi 15s"; strings.Join(rows, "|") != want {
		t.Errorf("rows %q, want %q", strings.Join(rows, "|"), want)
	}
	if !strings.Contains(body, `"kind":"PartialObjectMetadata"`) {
		t.Errorf("rows carry no metadata: %s", body)
	}

	code, body = request(t, srv, adminToken, acceptTable, "/apis/metrics.k8s.io/v1beta1/nodes/n1")
	if code != http.StatusOK || !strings.Contains(body, `"cells":["n1","1333333333n","2Gi","15s"]`) {
		t.Errorf("node table: %d %s", code, body)
	}
}

func TestAPIDiscovery(t *testing.T) {
	srv := newMetricsServer(t)
	code, body := request(t, srv, adminToken, "", "/apis/metrics.k8s.io/v1beta1")
	if code != http.StatusOK {
		t.Fatalf("discovery: %d %s", code, body)
	}
	var list metav1.APIResourceList
	mustDecode(t, body, &list)
	var got []string
	for _, r := range list.APIResources {
		got = append(got, r.Name+":"+r.Kind+":"+strings.Join(r.Verbs, ",")+":"+map[bool]string{true: "namespaced", false: "cluster"}[r.Namespaced])
	}
	if want := "nodes:NodeMetrics:get,list:cluster pods:PodMetrics:get,list:namespaced"; strings.Join(got, " ") != want {
		t.Errorf("resources %v, want %s", got, want)
	}
	code, body = request(t, srv, adminToken, "", "/apis")
	if code != http.StatusOK || !strings.Contains(body, `"name":"metrics.k8s.io"`) {
		t.Errorf("/apis: %d %s", code, body)
	}
	code, body = request(t, srv, adminToken, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", "/apis")
	if code != http.StatusOK || !strings.Contains(body, `"resource":"pods","responseKind":{"group":"metrics.k8s.io","version":"v1beta1","kind":"PodMetrics"},"scope":"Namespaced","singularResource":"","verbs":["get","list"]`) {
		t.Errorf("aggregated /apis: %d %s", code, body)
	}
}

func TestAPIProtobuf(t *testing.T) {
	srv := newMetricsServer(t)
	code, body := request(t, srv, adminToken, "application/vnd.kubernetes.protobuf", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
	if code != http.StatusOK {
		t.Fatalf("protobuf list: %d %q", code, body)
	}
	scheme := runtime.NewScheme()
	if err := metricsv1beta1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	obj, _, err := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode([]byte(body), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := obj.(*metricsv1beta1.PodMetricsList)
	if !ok || len(l.Items) != 2 || l.Items[1].Name != "web" || len(l.Items[1].Containers) != 2 {
		t.Errorf("protobuf list decoded as %T %+v", obj, obj)
	}
}
