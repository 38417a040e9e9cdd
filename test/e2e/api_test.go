package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/pki"
)

var bg = context.Background()

func cmObj(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"k": "v"}}
}

func secretObj(name string, labels map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, StringData: map[string]string{"k": "v"}}
}

func podObj(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
}

func TestOptimisticConcurrencyAndGenerateName(t *testing.T) {
	c := startCluster(t)
	cms := c.client().CoreV1().ConfigMaps("default")
	created, err := cms.Create(bg, cmObj("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.UID == "" || created.CreationTimestamp.IsZero() || created.ResourceVersion == "" {
		t.Fatalf("server-set metadata missing: %+v", created.ObjectMeta)
	}
	if _, err := cms.Create(bg, cmObj("a", nil), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: %v", err)
	}
	first := created.DeepCopy()
	first.Data["k"] = "one"
	if _, err := cms.Update(bg, first, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale := created.DeepCopy()
	stale.Data["k"] = "two"
	if _, err := cms.Update(bg, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: got %v, want 409 Conflict", err)
	}
	gen, err := cms.Create(bg, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
	if err != nil || !strings.HasPrefix(gen.Name, "gen-") || len(gen.Name) != len("gen-")+5 {
		t.Fatalf("generateName: %v %q", err, gen.GetName())
	}
	// dryRun stores nothing.
	if _, err := cms.Create(bg, cmObj("dry", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(bg, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create was stored: %v", err)
	}
	// Patches of every kind.
	for _, p := range []struct {
		pt   types.PatchType
		body string
		want string
	}{
		{types.MergePatchType, `{"data":{"k":"merge"}}`, "merge"},
		{types.StrategicMergePatchType, `{"data":{"k":"smp"}}`, "smp"},
		{types.JSONPatchType, `[{"op":"replace","path":"/data/k","value":"json"}]`, "json"},
	} {
		got, err := cms.Patch(bg, "a", p.pt, []byte(p.body), metav1.PatchOptions{})
		if err != nil || got.Data["k"] != p.want {
			t.Fatalf("%s patch: %v %v", p.pt, err, got)
		}
	}
	_, err = cms.Patch(bg, "a", types.JSONPatchType, []byte(`[{"op":"test","path":"/data/k","value":"other"}]`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "testing value /data/k failed") {
		t.Fatalf("a failing JSON patch test: %v, want 422 saying what failed", err)
	}
	applied := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"applied"}}`)
	_, err = cms.Patch(bg, "a", types.ApplyPatchType, applied, metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "fieldManager: Required value: is required for apply patch") {
		t.Fatalf("apply without a field manager: %v, want 422", err)
	}
	_, err = cms.Patch(bg, "a", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{Force: ptr.To(true)})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "force: Forbidden: may not be specified for non-apply patch") {
		t.Fatalf("force on a merge patch: %v, want 422", err)
	}
	// The JSON patch above was the last to set data.k, so the applier meets its owner.
	_, err = cms.Patch(bg, "a", types.ApplyPatchType, applied, metav1.PatchOptions{FieldManager: "t"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `Apply failed with 1 conflict: conflict with "e2e.test" using v1: .data.k`) {
		t.Fatalf("apply of a field another manager set: %v, want 409", err)
	}
	got, err := cms.Patch(bg, "a", types.ApplyPatchType, applied, metav1.PatchOptions{FieldManager: "t", Force: ptr.To(true)})
	if err != nil || got.Data["k"] != "applied" || owner(got.ManagedFields, "t") != metav1.ManagedFieldsOperationApply {
		t.Fatalf("forced apply: %v %v %+v", err, got.Data, got.ManagedFields)
	}
}

func TestSelectorsAndPagination(t *testing.T) {
	c := startCluster(t)
	cs := c.client()
	// Secrets, because no controller adds any of its own to a namespace.
	cms := cs.CoreV1().Secrets("default")
	for i := 0; i < 12; i++ {
		if _, err := cms.Create(bg, secretObj(fmt.Sprintf("c%02d", i), map[string]string{"parity": []string{"even", "odd"}[i%2]}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := cms.List(bg, metav1.ListOptions{LabelSelector: "parity=odd"})
	if err != nil || len(l.Items) != 6 {
		t.Fatalf("label selector: %v, %d items", err, len(l.Items))
	}
	l, err = cms.List(bg, metav1.ListOptions{FieldSelector: "metadata.name=c03"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Name != "c03" {
		t.Fatalf("field selector: %v %v", err, l)
	}
	if _, err := cms.List(bg, metav1.ListOptions{FieldSelector: "spec.nope=x"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unsupported field selector: %v", err)
	}
	// No field limits a command's size, so this pod passes validation and reaches etcd.
	huge := podObj("huge", "")
	huge.Spec.Containers[0].Args = []string{strings.Repeat("x", 2<<20)}
	if _, err := cs.CoreV1().Pods("default").Create(bg, huge, metav1.CreateOptions{}); !apierrors.IsRequestEntityTooLargeError(err) || strings.Contains(err.Error(), "/registry") {
		t.Fatalf("a pod too large for etcd: %v, want 413 without storage keys", err)
	}
	sideways := metav1.DeletionPropagation("Sideways")
	if err := cms.Delete(bg, "c00", metav1.DeleteOptions{PropagationPolicy: &sideways}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), `propagationPolicy: Unsupported value: "Sideways"`) {
		t.Fatalf("delete with propagationPolicy Sideways: %v, want 422", err)
	}
	if err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/default/secrets").Param("watch", "true").
		Param("timeoutSeconds", "abc").Do(bg).Error(); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "invalid timeoutSeconds: abc") {
		t.Fatalf("watch with timeoutSeconds=abc: %v", err)
	}
	var names []string
	opts := metav1.ListOptions{Limit: 5}
	for pages := 0; ; pages++ {
		l, err := cms.List(bg, opts)
		if err != nil {
			t.Fatal(err)
		}
		if pages == 0 && (l.RemainingItemCount == nil || *l.RemainingItemCount != 7) {
			t.Fatalf("remainingItemCount on the first page: %v", l.RemainingItemCount)
		}
		for _, i := range l.Items {
			names = append(names, i.Name)
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if len(names) != 12 {
		t.Fatalf("paged through %d items: %v", len(names), names)
	}
	// Pods: field selectors on spec.nodeName and status.phase.
	pods := cs.CoreV1().Pods("default")
	for _, p := range []*corev1.Pod{podObj("bound", "node-1"), podObj("free", "")} {
		if _, err := pods.Create(bg, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pl, err := pods.List(bg, metav1.ListOptions{FieldSelector: "spec.nodeName=node-1,status.phase=Pending"})
	if err != nil || len(pl.Items) != 1 || pl.Items[0].Name != "bound" {
		t.Fatalf("pod field selector: %v %v", err, pl)
	}
	pl, err = cs.CoreV1().Pods("").List(bg, metav1.ListOptions{FieldSelector: "spec.schedulerName=default-scheduler"})
	if err != nil || len(pl.Items) != 2 {
		t.Fatalf("all-namespace pod list: %v %d", err, len(pl.Items))
	}
	nl, err := cs.CoreV1().Nodes().List(bg, metav1.ListOptions{FieldSelector: "spec.unschedulable=false"})
	if err != nil || len(nl.Items) != 0 {
		t.Fatalf("node field selector: %v", err)
	}
	el, err := cs.CoreV1().Events("default").List(bg, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,involvedObject.name=x,reason=Started,type=Normal"})
	if err != nil || len(el.Items) != 0 {
		t.Fatalf("event field selector: %v", err)
	}
}

func TestWatchResumeBookmarksAndGone(t *testing.T) {
	c := startCluster(t)
	cs := c.client()
	cms := cs.CoreV1().Secrets("default")
	a, err := cms.Create(bg, secretObj("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(bg, metav1.ListOptions{ResourceVersion: a.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cms.Create(bg, secretObj("b", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, w)
	if ev.Type != watch.Added || ev.Object.(*corev1.Secret).Name != "b" {
		t.Fatalf("watch from rv: %v %v", ev.Type, ev.Object)
	}
	w.Stop()
	// Resume from b's version: only later changes arrive.
	w, err = cms.Watch(bg, metav1.ListOptions{ResourceVersion: b.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(bg, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, w)
	if ev.Type != watch.Deleted || ev.Object.(*corev1.Secret).Name != "a" {
		t.Fatalf("resumed watch: %v %v", ev.Type, ev.Object)
	}
	w.Stop()

	// Watch-list: initial events, then the annotated bookmark.
	yes := true
	w, err = cms.Watch(bg, metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, w); ev.Type != watch.Added || ev.Object.(*corev1.Secret).Name != "b" {
		t.Fatalf("initial event: %v %v", ev.Type, ev.Object)
	}
	if ev := nextEvent(t, w); ev.Type != watch.Bookmark || ev.Object.(*corev1.Secret).Annotations["k8s.io/initial-events-end"] != "true" {
		t.Fatalf("initial-events-end bookmark: %v %v", ev.Type, ev.Object)
	}
	w.Stop()

	// A compacted revision is 410 Gone for an exact list...
	etcdc := c.etcdClient(true)
	latest, err := cms.Update(bg, b, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(latest.ResourceVersion, 10, 64)
	if _, err := etcdc.Compact(bg, rev); err != nil {
		t.Fatal(err)
	}
	_, err = cms.List(bg, metav1.ListOptions{ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("exact list at a compacted revision: %v", err)
	}
	// ...and for a watch from before the server's history (after a restart).
	c.stop()
	c.start()
	cms = c.client().CoreV1().Secrets("default")
	_, err = cms.Watch(bg, metav1.ListOptions{ResourceVersion: a.ResourceVersion})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("watch from a forgotten revision: %v", err)
	}
	if _, err := cms.Get(bg, "b", metav1.GetOptions{}); err != nil {
		t.Fatalf("object lost over a restart: %v", err)
	}
}

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch ended")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no watch event within 20s")
	}
	return watch.Event{}
}

func TestGracefulDeletion(t *testing.T) {
	c := startCluster(t)
	pods := c.client().CoreV1().Pods("default")
	if _, err := pods.Create(bg, podObj("bound", "node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(bg, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(bg, "bound", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("a bound pod went at once: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("graceful deletion marks: %v %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	out := c.mustKubectl("get", "pods")
	if !strings.Contains(out, "Terminating") {
		t.Fatalf("get pods during deletion:\n%s", out)
	}
	// The node the pod is bound to finishes the deletion.
	node := c.nodeClient("node-1")
	zero := int64(0)
	if err := node.CoreV1().Pods("default").Delete(bg, "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatalf("node deleting its pod: %v", err)
	}
	if _, err := pods.Get(bg, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod after the node's delete: %v", err)
	}
	// --grace-period=0 --force removes a bound pod at once.
	if _, err := pods.Create(bg, podObj("forced", "node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.mustKubectl("delete", "pod", "forced", "--grace-period=0", "--force")
	if _, err := pods.Get(bg, "forced", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("forced delete left the pod: %v", err)
	}
	// An eviction deletes gracefully, like a delete.
	if _, err := pods.Create(bg, podObj("evicted", "node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "evicted", Namespace: "default"}}
	if err := pods.EvictV1(bg, ev); err != nil {
		t.Fatalf("eviction: %v", err)
	}
	if p, err := pods.Get(bg, "evicted", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("evicted pod: %v %v", err, p)
	}
	// An unbound pod goes at once.
	if _, err := pods.Create(bg, podObj("free", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(bg, "free", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(bg, "free", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unbound pod after delete: %v", err)
	}
}

func TestValidationErrors(t *testing.T) {
	c := startCluster(t)
	pods := c.client().CoreV1().Pods("default")
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "a"}, {Name: "a", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 70000}}},
	}}}
	_, err := pods.Create(bg, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("invalid pod: %v", err)
	}
	for _, want := range []string{"metadata.name", "spec.containers[0].image", "spec.containers[1].name", "spec.containers[1].ports[0].containerPort"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks field %s: %v", want, err)
		}
	}
	if _, err := pods.Create(bg, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) ||
		!strings.Contains(err.Error(), "spec.containers: Required value") {
		t.Fatalf("pod without containers: %v", err)
	}
	if l, _ := pods.List(bg, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Fatalf("invalid pods were stored: %v", l.Items)
	}
	// Strict field validation: an unknown field is an error, or a warning under Warn.
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dta":{"a":"b"}}`
	rc := c.client().CoreV1().RESTClient()
	res := rc.Post().Namespace("default").Resource("configmaps").Param("fieldValidation", "Strict").Body([]byte(body)).Do(bg)
	if err := res.Error(); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `unknown field "dta"`) {
		t.Fatalf("strict: %v", err)
	}
	res = rc.Post().Namespace("default").Resource("configmaps").Param("fieldValidation", "Warn").Body([]byte(body)).Do(bg)
	if err := res.Error(); err != nil {
		t.Fatalf("warn: %v", err)
	}
	if ws := res.Warnings(); len(ws) != 1 || !strings.Contains(ws[0].Text, `unknown field "dta"`) {
		t.Fatalf("warn: warnings %v", ws)
	}
	dup := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y","name":"y"}}`
	res = rc.Post().Namespace("default").Resource("configmaps").Param("fieldValidation", "Strict").Body([]byte(dup)).Do(bg)
	if err := res.Error(); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "duplicate field") {
		t.Fatalf("strict duplicate: %v", err)
	}
	// Bodies over 3 MiB are refused.
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3<<20) + `"}}`
	res = rc.Post().Namespace("default").Resource("configmaps").Body([]byte(big)).Do(bg)
	if st, ok := res.Error().(apierrors.APIStatus); !ok || st.Status().Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body: %v", res.Error())
	}
	// A body that is not JSON is a 400.
	res = rc.Post().Namespace("default").Resource("configmaps").Body([]byte(`{"apiVersion":`)).Do(bg)
	if !apierrors.IsBadRequest(res.Error()) {
		t.Fatalf("broken body: %v", res.Error())
	}
}

func TestAuthentication(t *testing.T) {
	c := startCluster(t)
	cfg := c.restConfig()
	for name, mutate := range map[string]func(*rest.Config){
		"no credential": func(r *rest.Config) { r.BearerToken = "" },
		"wrong token":   func(r *rest.Config) { r.BearerToken = "not-the-token" },
		"wrong join":    func(r *rest.Config) { r.BearerToken = "node:node-1:wrong" },
	} {
		r := rest.CopyConfig(cfg)
		mutate(r)
		cs, err := kubernetes.NewForConfig(r)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cs.CoreV1().Namespaces().List(bg, metav1.ListOptions{})
		if want := name != "no credential"; apierrors.IsUnauthorized(err) != want || !want && !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v, want 401 (403 for the anonymous user)", name, err)
		}
	}
	// The embedded etcd takes no client without a certificate from the cluster CA.
	ctx, cancel := context.WithTimeout(bg, 3*time.Second)
	defer cancel()
	if _, err := c.etcdClient(false).Get(ctx, "/registry/secrets/", clientv3.WithPrefix()); err == nil {
		t.Fatal("etcd answered a client without a certificate")
	}
	node := c.nodeClient("node-a")
	mk := func(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	if _, err := node.CoreV1().Nodes().Create(bg, mk("node-a"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("node creating itself: %v", err)
	}
	if _, err := node.CoreV1().Nodes().Create(bg, mk("node-b"), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node creating another node: %v", err)
	}
	if _, err := c.client().CoreV1().Nodes().Create(bg, mk("node-b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CoreV1().Nodes().Patch(bg, "node-b", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node patching another node: %v", err)
	}
	if _, err := node.CoreV1().ConfigMaps("default").Create(bg, cmObj("x", nil), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node creating a configmap: %v", err)
	}
	if err := node.CoreV1().RESTClient().Get().AbsPath("/metrics").Do(bg).Error(); !apierrors.IsForbidden(err) {
		t.Fatalf("node reading /metrics: %v", err)
	}
	metrics, err := c.client().CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(bg)
	if err != nil || !strings.Contains(string(metrics), "apiserver_request_total") || !strings.Contains(string(metrics), "etcd_request_duration_seconds") {
		t.Fatalf("admin reading /metrics: %v", err)
	}
	// Writes across all namespaces are not served.
	res := c.client().CoreV1().RESTClient().Post().AbsPath("/api/v1/configmaps").Body([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"default"}}`)).Do(bg)
	if st, ok := res.Error().(apierrors.APIStatus); !ok || st.Status().Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /api/v1/configmaps: %v", res.Error())
	}
}

// etcdClient returns a client of the server's embedded etcd, with the client certificate
// from the data directory when withCert is set.
func (c *cluster) etcdClient(withCert bool) *clientv3.Client {
	c.t.Helper()
	tlsCfg, err := etcd.ClientTLS(pki.Files{Dir: c.dataDir}.Etcd())
	if err != nil {
		c.t.Fatal(err)
	}
	if !withCert {
		tlsCfg.Certificates, tlsCfg.GetClientCertificate = nil, nil
	}
	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{"https://127.0.0.1:" + strconv.Itoa(c.etcdPort)},
		TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { ec.Close() })
	return ec
}

// nodeClient returns a client with the credential of node name.
func (c *cluster) nodeClient(name string) *kubernetes.Clientset {
	c.t.Helper()
	cs, err := kubernetes.NewForConfig(c.nodeClientConfig(name))
	if err != nil {
		c.t.Fatal(err)
	}
	return cs
}

// nodeClientConfig is the client configuration of node name's credential: a client
// certificate of the cluster CA for system:node:NAME in system:nodes, as the agent of
// that node gets through its certificate signing request.
func (c *cluster) nodeClientConfig(name string) *rest.Config {
	c.t.Helper()
	cert, key, err := pki.IssueClient(pki.Files{Dir: c.dataDir}, "system:node:"+name, []string{"system:nodes"}, time.Hour)
	if err != nil {
		c.t.Fatalf("a certificate for node %s: %v", name, err)
	}
	r := rest.AnonymousClientConfig(c.restConfig())
	r.CertData, r.KeyData = cert, key
	return r
}

// joinClientConfig is the client configuration of the join token alone.
func (c *cluster) joinClientConfig() *rest.Config {
	c.t.Helper()
	out, err := exec.Command(filepath.Join(c.bin, "podium"), "server", "token", "--data-dir", c.dataDir).Output()
	if err != nil {
		c.t.Fatalf("podium server token: %v", err)
	}
	_, secret, err := pki.ParseJoinToken(string(out))
	if err != nil {
		c.t.Fatalf("join token %q: %v", out, err)
	}
	r := rest.AnonymousClientConfig(c.restConfig())
	r.BearerToken = secret
	return r
}
