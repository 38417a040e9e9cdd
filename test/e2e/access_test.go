package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestWhoAmICanIAndImpersonation: `kubectl auth whoami` and `kubectl auth can-i` answer
// for the admin and, through --as, for the user it impersonates; a node credential may
// not impersonate; a request without credentials reads the health checks and the
// version and nothing else.
func TestWhoAmICanIAndImpersonation(t *testing.T) {
	c := startCluster(t)
	if out := c.mustKubectl("auth", "whoami"); !strings.Contains(out, "system:admin") || !strings.Contains(out, "system:masters") {
		t.Fatalf("whoami:\n%s", out)
	}
	asNode := []string{"--as", "system:node:node-a", "--as-group", "system:nodes"}
	if out := c.mustKubectl(append([]string{"auth", "whoami"}, asNode...)...); !strings.Contains(out, "system:node:node-a") ||
		!strings.Contains(out, "system:nodes") || !strings.Contains(out, "system:authenticated") {
		t.Fatalf("whoami as a node:\n%s", out)
	}
	canI := func(args ...string) string {
		t.Helper()
		out, errOut, err := c.kubectl(append([]string{"auth", "can-i"}, args...)...)
		answer, _, _ := strings.Cut(strings.TrimSpace(out), " ") // "no - REASON"
		if err != nil && answer != "no" {
			t.Fatalf("can-i %v: %v %s%s", args, err, out, errOut)
		}
		return answer
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "pods"}, "yes"},
		{append([]string{"get", "nodes"}, asNode...), "yes"},
		{append([]string{"delete", "namespaces"}, asNode...), "no"},
		{append([]string{"create", "configmaps"}, asNode...), "no"},
		{[]string{"get", "pods", "--as", "alice"}, "no"},
	} {
		if got := canI(tc.args...); got != tc.want {
			t.Errorf("can-i %v: %q, want %q", tc.args, got, tc.want)
		}
	}
	// What the impersonated user may not do, the request may not do.
	if _, errOut, err := c.kubectl(append([]string{"create", "configmap", "x"}, asNode...)...); err == nil || !strings.Contains(errOut, "configmaps is forbidden") {
		t.Fatalf("create a configmap as a node: %v %s", err, errOut)
	}
	// A node may not impersonate anyone.
	cfg := rest.CopyConfig(c.nodeClientConfig("node-a"))
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:admin", Groups: []string{"system:masters"}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("default").List(bg, metav1.ListOptions{}); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "cannot impersonate") {
		t.Fatalf("a node impersonating the admin: %v", err)
	}

	// A node reads only the secrets its pods name, and cannot give itself a role.
	admin := c.client()
	for _, name := range []string{"named", "unnamed"} {
		if _, err := admin.CoreV1().Secrets("default").Create(bg, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.CoreV1().Nodes().Create(bg, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "node-a",
		Containers: []corev1.Container{{Name: "c", Image: "busybox", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "named"}}}}}}}}
	if _, err := admin.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := c.nodeClient("node-a")
	waitUntil(t, "node-a reads the secret its pod names", func() bool {
		_, err := node.CoreV1().Secrets("default").Get(bg, "named", metav1.GetOptions{})
		return err == nil
	})
	if _, err := node.CoreV1().Secrets("default").Get(bg, "unnamed", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node-a reads a secret no pod of it names: %v", err)
	}
	if _, err := c.nodeClient("node-b").CoreV1().Secrets("default").Get(bg, "named", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node-b reads node-a's pod's secret: %v", err)
	}
	// Nor may a node reach another node's agent through the API server.
	if err := node.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/node-b/proxy/pods").Do(bg).Error(); !apierrors.IsForbidden(err) {
		t.Fatalf("node-a through nodes/node-b/proxy: %v", err)
	}
	if _, err := node.CoreV1().ConfigMaps("default").List(bg, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node-a lists configmaps: %v", err)
	}
	if _, err := node.CoreV1().Nodes().Patch(bg, "node-a", types.MergePatchType, []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}`), metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("node-a gives itself a role: %v", err)
	}
	if _, err := node.CoreV1().Nodes().Patch(bg, "node-a", types.MergePatchType, []byte(`{"metadata":{"labels":{"example.com/disk":"ssd"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("node-a labels itself: %v", err)
	}

	// Without credentials: health checks and version only.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for path, want := range map[string]int{"/livez": 200, "/readyz": 200, "/healthz": 200, "/version": 200, "/api": 403, "/api/v1/namespaces/default/secrets": 403, "/metrics": 403} {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", c.port, path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("anonymous GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
		if want == 403 && !strings.Contains(string(body), `User \"system:anonymous\" cannot`) {
			t.Errorf("anonymous GET %s: %s", path, body)
		}
	}
}
