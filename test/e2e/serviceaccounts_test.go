package e2e

import (
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podium/podium/test/images"
)

// TestServiceAccountTokens: kubectl create token, what a token may do, the objects it is
// bound to, TokenReview, the issuer discovery, and the pods' token volume.
func TestServiceAccountTokens(t *testing.T) {
	c := startCluster(t)
	cs := c.client()
	waitFor(t, one(cs, "serviceaccounts", "default", "default"), "the default service account", func(_ *corev1.ServiceAccount, ok bool) bool { return ok })
	as := func(token string, args ...string) (string, error) {
		out, errOut, err := c.kubectl(append([]string{"--token", token}, args...)...)
		return out + errOut, err
	}
	token := strings.TrimSpace(c.mustKubectl("create", "token", "default"))
	if out, err := as(token, "auth", "whoami"); err != nil || !strings.Contains(out, "system:serviceaccount:default:default") ||
		!strings.Contains(out, "system:serviceaccounts:default") {
		t.Fatalf("whoami with a token: %v %s", err, out)
	}
	if out, err := as(token, "get", "pods"); err == nil || !strings.Contains(out, `User "system:serviceaccount:default:default" cannot list resource "pods"`) {
		t.Fatalf("a token without a binding lists pods: %v %s", err, out)
	}
	c.mustKubectl("create", "rolebinding", "sa-view", "--clusterrole=view", "--serviceaccount=default:default")
	waitUntil(t, "the token lists pods once bound to view", func() bool {
		_, err := as(token, "get", "pods")
		return err == nil
	})
	if _, errOut, err := c.kubectl("create", "token", "default", "--duration", "5m"); err == nil || !strings.Contains(errOut, "may not specify a duration less than 10 minutes") {
		t.Errorf("a token of five minutes: %v %s", err, errOut)
	}
	if _, errOut, err := c.kubectl("create", "token", "nobody"); err == nil || !strings.Contains(errOut, `serviceaccounts "nobody" not found`) {
		t.Errorf("a token of a missing account: %v %s", err, errOut)
	}

	// A pod runs as its account, with the token volume; one that opts out has none, and
	// one naming a missing account is refused.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	p, err := cs.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.ServiceAccountName != "default" || len(p.Spec.Volumes) != 1 || !strings.HasPrefix(p.Spec.Volumes[0].Name, "kube-api-access-") ||
		p.Spec.Volumes[0].Projected == nil || len(p.Spec.Volumes[0].Projected.Sources) != 3 ||
		len(p.Spec.Containers[0].VolumeMounts) != 1 || p.Spec.Containers[0].VolumeMounts[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" {
		t.Errorf("the pod's account and token volume: %s %+v %+v", p.Spec.ServiceAccountName, p.Spec.Volumes, p.Spec.Containers[0].VolumeMounts)
	}
	no := false
	quiet := pod.DeepCopy()
	quiet.Name, quiet.Spec.AutomountServiceAccountToken = "quiet", &no
	if q, err := cs.CoreV1().Pods("default").Create(bg, quiet, metav1.CreateOptions{}); err != nil || len(q.Spec.Volumes) != 0 {
		t.Errorf("a pod without the token: %v %+v", err, q.Spec.Volumes)
	}
	stranger := pod.DeepCopy()
	stranger.Name, stranger.Spec.ServiceAccountName = "stranger", "nobody"
	if _, err := cs.CoreV1().Pods("default").Create(bg, stranger, metav1.CreateOptions{}); err == nil ||
		!strings.Contains(err.Error(), `error looking up service account default/nobody: serviceaccounts "nobody" not found`) {
		t.Errorf("a pod of a missing account: %v", err)
	}

	// A token bound to the pod works while the pod is there.
	bound := strings.TrimSpace(c.mustKubectl("create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "p"))
	if out, err := as(bound, "auth", "whoami"); err != nil || !strings.Contains(out, "authentication.kubernetes.io/pod-name") || !strings.Contains(out, "[p]") {
		t.Fatalf("whoami with a pod-bound token: %v %s", err, out)
	}
	c.mustKubectl("delete", "pod", "p", "--wait=true")
	waitUntil(t, "the pod-bound token stops working", func() bool {
		out, err := as(bound, "auth", "whoami")
		return err != nil && strings.Contains(out, "Unauthorized")
	})

	// TokenReview, with audiences.
	other := strings.TrimSpace(c.mustKubectl("create", "token", "default", "--audience", "vault"))
	if out, err := as(other, "auth", "whoami"); err == nil || !strings.Contains(out, "Unauthorized") {
		t.Errorf("a token for another audience at the API server: %v %s", err, out)
	}
	review := func(token string, audiences ...string) authenticationv1.TokenReviewStatus {
		t.Helper()
		r, err := cs.AuthenticationV1().TokenReviews().Create(bg, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: audiences}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	if st := review(token); !st.Authenticated || st.User.Username != "system:serviceaccount:default:default" {
		t.Errorf("review of a token: %+v", st)
	}
	if st := review(other, "vault"); !st.Authenticated || len(st.Audiences) != 1 || st.Audiences[0] != "vault" {
		t.Errorf("review of a vault token for vault: %+v", st)
	}
	if st := review(other); st.Authenticated {
		t.Errorf("review of a vault token for the API server: %+v", st)
	}
	if st := review("garbage"); st.Authenticated || st.Error == "" {
		t.Errorf("review of garbage: %+v", st)
	}

	// The issuer's discovery: what a token's iss names, with its keys.
	if out := c.mustKubectl("get", "--raw", "/.well-known/openid-configuration"); !strings.Contains(out, `"issuer":"https://kubernetes.default.svc.cluster.local"`) ||
		!strings.Contains(out, "/openid/v1/jwks") {
		t.Errorf("openid-configuration: %s", out)
	}
	if out := c.mustKubectl("get", "--raw", "/openid/v1/jwks"); !strings.Contains(out, `"alg":"ES256"`) || !strings.Contains(out, `"kid":`) {
		t.Errorf("jwks: %s", out)
	}

	// A legacy token Secret: filled in by the token controller, valid while it holds
	// the token, deleted with its account.
	c.mustKubectl("create", "serviceaccount", "builder")
	legacy := `apiVersion: v1
kind: Secret
metadata:
  name: builder-token
  annotations: {kubernetes.io/service-account.name: builder}
type: kubernetes.io/service-account-token
`
	if _, errOut, err := c.kubectlIn(legacy, "apply", "-f", "-"); err != nil {
		t.Fatalf("a token secret: %v %s", err, errOut)
	}
	var secretToken string
	waitFor(t, one(cs, "secrets", "default", "builder-token"), "the token secret filled in", func(s *corev1.Secret, ok bool) bool {
		if ok && len(s.Data["token"]) > 0 && len(s.Data["ca.crt"]) > 0 && string(s.Data["namespace"]) == "default" && s.Annotations["kubernetes.io/service-account.uid"] != "" {
			secretToken = string(s.Data["token"])
			return true
		}
		return false
	})
	if out, err := as(secretToken, "auth", "whoami"); err != nil || !strings.Contains(out, "system:serviceaccount:default:builder") {
		t.Fatalf("whoami with a secret's token: %v %s", err, out)
	}
	c.mustKubectl("delete", "serviceaccount", "builder")
	waitFor(t, one(cs, "secrets", "default", "builder-token"), "the token secret deleted with its account", func(_ *corev1.Secret, ok bool) bool { return !ok })
	waitUntil(t, "the secret's token stops working", func() bool {
		out, err := as(secretToken, "auth", "whoami")
		return err != nil && strings.Contains(out, "Unauthorized")
	})

	// An account deleted and made again is another account: the old tokens are void.
	c.mustKubectl("delete", "serviceaccount", "default")
	waitFor(t, one(cs, "serviceaccounts", "default", "default"), "the default service account made again", func(sa *corev1.ServiceAccount, ok bool) bool { return ok })
	waitUntil(t, "the old account's token stops working", func() bool {
		out, err := as(token, "auth", "whoami")
		return err != nil && strings.Contains(out, "Unauthorized")
	})
	// A node may ask only for its own pods' tokens.
	node := c.nodeClient("somewhere")
	if _, err := node.CoreV1().ServiceAccounts("default").CreateToken(bg, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a node asking for a token of an account no pod of it runs as: %v, want 403", err)
	}
}

// TestInClusterClient runs a client-go program in a pod: with rest.InClusterConfig it
// finds the API server and its pod's token; it may list pods once its account is bound
// to a role that allows it.
func TestInClusterClient(t *testing.T) {
	// The kubernetes Service needs an address that is not loopback: the server listens
	// on every address and names the node's pod bridge, which only this test's pods use.
	c := startAgentCluster(t, "--bind-address", "0.0.0.0", "--advertise-address", "10.244.96.1")
	img, err := images.InCluster("../..")
	if err != nil {
		t.Fatal(err)
	}
	if err := images.Push(c.registry, "library/incluster:v1", img); err != nil {
		t.Fatal(err)
	}
	cs := c.client()
	waitFor(t, one(cs, "serviceaccounts", "default", "default"), "the default service account", func(_ *corev1.ServiceAccount, ok bool) bool { return ok })
	logOf := func(name string) string {
		t.Helper()
		var out string
		waitUntil(t, name+" has listed or failed", func() bool {
			out, _, _ = c.kubectl("logs", name)
			return strings.Contains(out, "done") || strings.Contains(out, "listing pods:")
		})
		return out
	}
	c.mustKubectl("run", "refused", "--image=incluster:v1")
	c.waitRunning("refused")
	if out := logOf("refused"); !strings.Contains(out, `pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods"`) {
		t.Errorf("an in-cluster client without a binding: %s", out)
	}
	c.mustKubectl("create", "rolebinding", "sa-view", "--clusterrole=view", "--serviceaccount=default:default")
	c.mustKubectl("run", "allowed", "--image=incluster:v1")
	c.waitRunning("allowed")
	if out := logOf("allowed"); !strings.Contains(out, "pod refused") || !strings.Contains(out, "pod allowed") {
		t.Errorf("an in-cluster client bound to view: %s", out)
	}
	// The token it used is the agent's to keep: a pod-bound token in the volume.
	token := c.mustKubectl("exec", "allowed", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token")
	cfg := rest.AnonymousClientConfig(c.restConfig())
	cfg.BearerToken = token
	pc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pc.AuthenticationV1().SelfSubjectReviews().Create(bg, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || strings.Join(r.Status.UserInfo.Extra["authentication.kubernetes.io/pod-name"], ",") != "allowed" {
		t.Errorf("whoami with the pod's token: %v %+v", err, r)
	}
}
