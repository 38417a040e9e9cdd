package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podium/podium/internal/pki"
)

// TestRBAC: the default roles exist (admin, edit and view aggregated); a user bound to
// view in one namespace reads there and nothing else; a namespace admin grants what it
// holds but cannot grant cluster-admin to itself. Users are impersonated by the admin
// (kubectl --as), as a user's own credential would authenticate them.
func TestRBAC(t *testing.T) {
	c := startCluster(t)
	out := c.mustKubectl("get", "clusterroles")
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer"} {
		if !strings.Contains(out, name) {
			t.Errorf("get clusterroles lacks %s:\n%s", name, out)
		}
	}
	cs := c.client()
	waitFor(t, one(cs, "clusterroles", "", "admin"), "admin aggregated from edit and view", func(cr *rbacv1.ClusterRole, ok bool) bool {
		if !ok {
			return false
		}
		var roles, pods bool
		for _, r := range cr.Rules {
			for _, res := range r.Resources {
				roles = roles || res == "rolebindings"
				pods = pods || res == "pods/log"
			}
		}
		return roles && pods
	})
	c.mustKubectl("create", "namespace", "team")
	c.mustKubectl("create", "namespace", "other")
	c.mustKubectl("create", "rolebinding", "alice-view", "--clusterrole=view", "--user=alice", "-n", "team")
	asAlice := func(args ...string) (string, error) {
		out, errOut, err := c.kubectl(append(args, "--as", "alice")...)
		return out + errOut, err
	}
	if out, err := asAlice("get", "pods", "-n", "team"); err != nil {
		t.Fatalf("alice lists pods in team: %v %s", err, out)
	}
	if out, err := asAlice("get", "pods", "-n", "other"); err == nil || !strings.Contains(out, `User "alice" cannot list resource "pods" in API group "" in the namespace "other"`) {
		t.Fatalf("alice lists pods in other: %v %s", err, out)
	}
	if out, err := asAlice("create", "configmap", "x", "-n", "team"); err == nil || !strings.Contains(out, "forbidden") {
		t.Fatalf("alice creates a configmap: %v %s", err, out)
	}
	if out, _ := asAlice("auth", "can-i", "list", "pods", "-n", "team"); !strings.HasPrefix(out, "yes") {
		t.Errorf("can-i list pods in team as alice: %s", out)
	}
	if out, _ := asAlice("auth", "can-i", "list", "pods", "-n", "other"); !strings.HasPrefix(out, "no") {
		t.Errorf("can-i list pods in other as alice: %s", out)
	}
	if out, err := asAlice("auth", "can-i", "--list", "-n", "team"); err != nil || !strings.Contains(out, "pods/log") ||
		!strings.Contains(out, "[get list watch]") || !strings.Contains(out, "selfsubjectaccessreviews.authorization.k8s.io") {
		t.Errorf("can-i --list in team as alice: %v\n%s", err, out)
	}

	// A user of her own: a kubeconfig with a client certificate, her group bound to view.
	kc, err := exec.Command(filepath.Join(c.bin, "podium"), "kubeconfig", "create", "erin", "--group", "devs", "--data-dir", c.dataDir).Output()
	if err != nil {
		t.Fatalf("podium kubeconfig create: %v", err)
	}
	erinKC := filepath.Join(t.TempDir(), "erin.yaml")
	if err := os.WriteFile(erinKC, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	asErin := func(args ...string) (string, error) {
		out, errOut, err := c.kubectl(append([]string{"--kubeconfig", erinKC}, args...)...)
		return out + errOut, err
	}
	if out, err := asErin("auth", "whoami"); err != nil || !strings.Contains(out, "erin") || !strings.Contains(out, "devs") {
		t.Fatalf("whoami with erin's certificate: %v %s", err, out)
	}
	if out, err := asErin("get", "pods", "-n", "team"); err == nil || !strings.Contains(out, `User "erin" cannot list resource "pods"`) {
		t.Fatalf("erin without a binding: %v %s", err, out)
	}
	// A certificate of another CA, in the name of the masters, gets no further than the
	// TLS handshake.
	otherDir := t.TempDir()
	if _, err := pki.Ensure(pki.Files{Dir: otherDir}, nil); err != nil {
		t.Fatal(err)
	}
	forged, forgedKey, err := pki.IssueClient(pki.Files{Dir: otherDir}, "system:admin", []string{"system:masters"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forgedCfg := rest.CopyConfig(c.restConfig())
	forgedCfg.BearerToken, forgedCfg.CertData, forgedCfg.KeyData = "", forged, forgedKey
	forgedClient, err := kubernetes.NewForConfig(forgedCfg)
	if err != nil {
		t.Fatal(err)
	}
	// The handshake fails: the client hears of it as a TLS alert ("bad certificate")
	// or, under TLS 1.3, as the server closing the connection, but gets no answer.
	var answered apierrors.APIStatus
	if _, err := forgedClient.CoreV1().Secrets("default").List(bg, metav1.ListOptions{}); err == nil || errors.As(err, &answered) {
		t.Fatalf("a certificate of another CA: %v", err)
	}
	c.mustKubectl("create", "rolebinding", "devs-view", "--clusterrole=view", "--group=devs", "-n", "team")
	if out, err := asErin("get", "pods", "-n", "team"); err != nil {
		t.Fatalf("erin (devs, bound to view) lists pods in team: %v %s", err, out)
	}

	// dana administers team: she may give erin view there, but not herself cluster-admin.
	c.mustKubectl("create", "rolebinding", "dana-admin", "--clusterrole=admin", "--user=dana", "-n", "team")
	if out, errOut, err := c.kubectl("create", "rolebinding", "erin-view", "--clusterrole=view", "--user=erin", "-n", "team", "--as", "dana"); err != nil {
		t.Fatalf("dana binds view: %v %s%s", err, out, errOut)
	}
	_, errOut, err := c.kubectl("create", "rolebinding", "dana-root", "--clusterrole=cluster-admin", "--user=dana", "-n", "team", "--as", "dana")
	if err == nil || !strings.Contains(errOut, "is attempting to grant RBAC permissions not currently held") {
		t.Fatalf("dana binds cluster-admin: %v %s", err, errOut)
	}
	if _, errOut, err := c.kubectl("get", "secrets", "-n", "team", "--as", "erin"); err == nil || !strings.Contains(errOut, "forbidden") {
		t.Fatalf("erin (view) reads secrets: %v %s", err, errOut)
	}
}
