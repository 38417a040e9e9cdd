package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helmBinary builds Helm 4 from its module (test/helm) into a temporary directory.
func helmBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "helm")
	cmd := exec.Command("go", "build", "-C", "../helm", "-o", out, "helm.sh/helm/v4/cmd/helm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building helm: %v\n%s", err, b)
	}
	return out
}

// TestHelm: Helm 4 installs a chart that ships a CRD, a Deployment, a Service, RBAC
// objects, a ConfigMap and a custom resource, with server-side apply; `helm test`
// reaches the Service from a pod; an upgrade changes what it serves; uninstall removes
// the release's objects.
func TestHelm(t *testing.T) {
	helm := helmBinary(t)
	c := startAgentCluster(t)
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, helm, append(args, "--kubeconfig", c.kubeconfig)...)
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "config"),
			"HELM_DATA_HOME="+filepath.Join(home, "data"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	chart := "testdata/helmchart"
	run("install", "demo", chart, "--wait", "--timeout", "3m")
	for _, obj := range []string{"crd/gadgets.demo.podium.dev", "deployment/demo-web", "service/demo-web", "configmap/demo-content",
		"serviceaccount/demo-web", "role/demo-reader", "rolebinding/demo-reader", "gadget/demo-gadget"} {
		c.mustKubectl("get", obj)
	}
	// Helm 4 applies server-side: the release's objects are owned by its field manager.
	if got := c.mustKubectl("get", "configmap/demo-content", "-o", "jsonpath={.metadata.managedFields[*].operation}"); !strings.Contains(got, "Apply") {
		t.Errorf("the release's ConfigMap was not applied server-side: operations %q", got)
	}
	if out := run("test", "demo", "--timeout", "2m"); !strings.Contains(out, "Succeeded") {
		t.Fatalf("helm test:\n%s", out)
	}
	run("upgrade", "demo", chart, "--set", "message=upgraded", "--wait", "--timeout", "3m")
	if got := c.mustKubectl("get", "configmap/demo-content", "-o", "jsonpath={.data.message}"); got != "upgraded" {
		t.Fatalf("message after the upgrade: %q", got)
	}
	c.mustKubectl("delete", "pod", "demo-test-web", "--ignore-not-found")
	if out := run("test", "demo", "--timeout", "2m"); !strings.Contains(out, "Succeeded") {
		t.Fatalf("helm test after the upgrade:\n%s", out)
	}
	run("uninstall", "demo", "--wait", "--timeout", "2m")
	// The CRD stays, as Helm leaves CRDs; the release's objects go.
	for _, obj := range []string{"deployment/demo-web", "service/demo-web", "configmap/demo-content", "serviceaccount/demo-web",
		"role/demo-reader", "rolebinding/demo-reader", "gadget/demo-gadget"} {
		if out, _, err := c.kubectl("get", obj, "--ignore-not-found", "-o", "name"); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("%s after uninstall: %v %q", obj, err, out)
		}
	}
}
