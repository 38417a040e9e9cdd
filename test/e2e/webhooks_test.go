package e2e

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testWebhook is an admission webhook server on loopback: it adds the label
// mutated=yes to every pod, makes pods labelled escalate=yes privileged, and refuses
// pods labelled deny=yes, and pods labelled dry=check unless the request is a dry run.
func testWebhook(t *testing.T) (url string, caPEM []byte) {
	t.Helper()
	review := func(w http.ResponseWriter, r *http.Request, decide func(pod *corev1.Pod, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse)) {
		body, _ := io.ReadAll(r.Body)
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &ar); err != nil || ar.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		pod := &corev1.Pod{}
		_ = json.Unmarshal(ar.Request.Object.Raw, pod)
		resp := &admissionv1.AdmissionResponse{UID: ar.Request.UID, Allowed: true}
		decide(pod, ar.Request, resp)
		ar.Response, ar.Request = resp, nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&ar)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(pod *corev1.Pod, _ *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) {
			op := `[{"op":"add","path":"/metadata/labels","value":{"mutated":"yes"}}]`
			if pod.Labels != nil {
				op = `[{"op":"add","path":"/metadata/labels/mutated","value":"yes"}]`
			}
			if pod.Labels["escalate"] == "yes" {
				op = op[:len(op)-1] + `,{"op":"add","path":"/spec/containers/0/securityContext","value":{"privileged":true}}]`
			}
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = []byte(op), &pt
		})
	})
	mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(pod *corev1.Pod, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) {
			if pod.Labels["deny"] == "yes" {
				resp.Allowed = false
				resp.Result = &metav1.Status{Code: 403, Message: "denied by the test webhook"}
			}
			if pod.Labels["dry"] == "check" && (req.DryRun == nil || !*req.DryRun) {
				resp.Allowed = false
				resp.Result = &metav1.Status{Code: 403, Message: "not a dry run"}
			}
		})
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cert := srv.Certificate()
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// TestAdmissionWebhooks: a mutating webhook labels pods, a validating one refuses
// some, and failure policies decide what an unreachable webhook means.
func TestAdmissionWebhooks(t *testing.T) {
	c := startCluster(t)
	url, ca := testWebhook(t)
	bundle := base64.StdEncoding.EncodeToString(ca)
	config := func(kind, name, path, failure, resource string) string {
		return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: %s
metadata: {name: %s}
webhooks:
- name: %s.example.com
  clientConfig: {url: "%s%s", caBundle: %s}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [%s]}]
  failurePolicy: %s
  sideEffects: None
  admissionReviewVersions: [v1]
  timeoutSeconds: 5
`, kind, name, name, url, path, bundle, resource, failure)
	}
	for _, m := range []string{
		config("MutatingWebhookConfiguration", "labeler", "/mutate", "Fail", "pods"),
		config("ValidatingWebhookConfiguration", "guard", "/validate", "Fail", "pods"),
	} {
		if _, errOut, err := c.kubectlIn(m, "apply", "-f", "-"); err != nil {
			t.Fatalf("apply: %v %s", err, errOut)
		}
	}
	cs := c.client()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	waitUntil(t, "a pod labelled by the webhook", func() bool {
		p, err := cs.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{})
		if err == nil {
			_ = cs.CoreV1().Pods("default").Delete(bg, "p", metav1.DeleteOptions{})
		}
		return err == nil && p.Labels["mutated"] == "yes"
	})
	_, errOut, err := c.kubectl("run", "bad", "--image=busybox", "--labels=deny=yes")
	if err == nil || !strings.Contains(errOut, `admission webhook "guard.example.com" denied the request: denied by the test webhook`) {
		t.Errorf("a pod the webhook denies: %v %s", err, errOut)
	}
	// The webhook is told when a request is a dry run.
	if _, errOut, err := c.kubectl("run", "dry", "--image=busybox", "--labels=dry=check", "--dry-run=server"); err != nil {
		t.Errorf("a dry-run pod: %v %s", err, errOut)
	}
	if _, errOut, err := c.kubectl("run", "dry", "--image=busybox", "--labels=dry=check"); err == nil || !strings.Contains(errOut, "not a dry run") {
		t.Errorf("the same pod for real: %v %s", err, errOut)
	}
	// Pod security judges the pod as the webhooks left it: it validates after every
	// mutation, as upstream's validating admission.
	c.mustKubectl("create", "namespace", "restricted")
	c.mustKubectl("label", "namespace", "restricted", "pod-security.kubernetes.io/enforce=baseline")
	if _, errOut, err := c.kubectl("run", "sneaky", "-n", "restricted", "--image=busybox", "--labels=escalate=yes"); err == nil ||
		!strings.Contains(errOut, `violates PodSecurity "baseline:latest": privileged (container "sneaky" must not set securityContext.privileged=true)`) {
		t.Errorf("a pod a webhook made privileged: %v %s", err, errOut)
	}
	out, got := c.mustKubectl("get", "mutatingwebhookconfigurations"), "labeler"
	if !strings.Contains(out, got) || !strings.Contains(out, "WEBHOOKS") {
		t.Errorf("kubectl get mutatingwebhookconfigurations:\n%s", out)
	}

	// An unreachable webhook refuses while its failure policy is Fail, and is ignored
	// once it is Ignore. (Fail comes first: a create that succeeds before the server has
	// seen the configuration would prove nothing about Ignore.)
	dead := strings.Replace(config("ValidatingWebhookConfiguration", "dead", "/x", "Fail", "configmaps"), url+"/x", "https://127.0.0.1:1/x", 1)
	if _, errOut, err := c.kubectlIn(dead, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	waitUntil(t, "a configmap refused by an unreachable webhook of failurePolicy Fail", func() bool {
		_, errOut, err := c.kubectl("create", "configmap", "refused")
		return err != nil && strings.Contains(errOut, `failed calling webhook "dead.example.com"`)
	})
	c.mustKubectl("patch", "validatingwebhookconfiguration", "dead", "--type=json", "-p", `[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]`)
	waitUntil(t, "a configmap admitted past an unreachable webhook of failurePolicy Ignore", func() bool {
		_, _, err := c.kubectl("create", "configmap", "admitted")
		return err == nil
	})

	// A configuration that names no way to reach its webhook is refused.
	bad := strings.Replace(config("ValidatingWebhookConfiguration", "nowhere", "/x", "Fail", "pods"), `url: "`+url+`/x", `, "", 1)
	if _, errOut, err := c.kubectlIn(bad, "apply", "-f", "-"); err == nil || !strings.Contains(errOut, "webhooks[0].clientConfig: Required value: exactly one of url or service is required") {
		t.Errorf("a webhook without url or service: %v %s", err, errOut)
	}
}

// TestValidatingAdmissionPolicy: a CEL policy bound to refuse Deployments of more than
// five replicas, then bound again to only warn.
func TestValidatingAdmissionPolicy(t *testing.T) {
	c := startCluster(t)
	policy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replica-limit}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}]
  validations:
  - expression: "object.spec.replicas <= 5"
    messageExpression: "'replicas must be at most 5, not ' + string(object.spec.replicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replica-limit}
spec:
  policyName: replica-limit
  validationActions: [Deny]
`
	if _, errOut, err := c.kubectlIn(policy, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	waitUntil(t, "a deployment of 10 replicas refused", func() bool {
		_, errOut, err := c.kubectl("create", "deployment", "big", "--image=nginx", "--replicas=10")
		if err == nil {
			c.mustKubectl("delete", "deployment", "big")
			return false
		}
		return strings.Contains(errOut, `ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit' denied request: replicas must be at most 5, not 10`)
	})
	if _, errOut, err := c.kubectl("create", "deployment", "small", "--image=nginx", "--replicas=3"); err != nil {
		t.Fatalf("a deployment of 3 replicas: %v %s", err, errOut)
	}
	// Warn instead of deny.
	c.mustKubectl("patch", "validatingadmissionpolicybinding", "replica-limit", "--type=merge", "-p", `{"spec":{"validationActions":["Warn"]}}`)
	waitUntil(t, "a deployment of 10 replicas admitted with a warning", func() bool {
		_, errOut, err := c.kubectl("create", "deployment", "warned", "--image=nginx", "--replicas=10")
		return err == nil && strings.Contains(errOut, "Warning: Validation failed for ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit': replicas must be at most 5, not 10")
	})
	// A binding with both Deny and Warn is refused.
	if _, errOut, err := c.kubectl("patch", "validatingadmissionpolicybinding", "replica-limit", "--type=merge", "-p", `{"spec":{"validationActions":["Deny","Warn"]}}`); err == nil ||
		!strings.Contains(errOut, "must not contain both Deny and Warn") {
		t.Errorf("Deny and Warn: %v %s", err, errOut)
	}
}

// TestAdmissionOnDelete: a policy that keeps ConfigMaps labelled protected from being
// deleted.
func TestAdmissionOnDelete(t *testing.T) {
	c := startCluster(t)
	policy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: keep-protected}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps]}]
  validations:
  - expression: "!has(oldObject.metadata.labels) || !('protected' in oldObject.metadata.labels)"
    message: "protected configmaps stay"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: keep-protected}
spec: {policyName: keep-protected, validationActions: [Deny]}
`
	if _, errOut, err := c.kubectlIn(policy, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.mustKubectl("create", "configmap", "keep")
	c.mustKubectl("label", "configmap", "keep", "protected=yes")
	c.mustKubectl("create", "configmap", "free")
	waitUntil(t, "the protected configmap's delete refused", func() bool {
		_, errOut, err := c.kubectl("delete", "configmap", "keep", "--dry-run=server")
		return err != nil && strings.Contains(errOut, "protected configmaps stay")
	})
	if _, errOut, err := c.kubectl("delete", "configmap", "keep"); err == nil || !strings.Contains(errOut, "protected configmaps stay") {
		t.Errorf("deleting a protected configmap: %v %s", err, errOut)
	}
	c.mustKubectl("delete", "configmap", "free")
}

// TestMutatingAdmissionPolicy: a policy that annotates Deployments comes into force
// without failing a create meanwhile. (The plugin, made on first use, waits for its
// first look at the server's OpenAPI; without that wait the first creates failed with
// "Resource kind apps/v1, Kind=Deployment not found" on a loaded machine.)
func TestMutatingAdmissionPolicy(t *testing.T) {
	c := startCluster(t)
	policy := `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: annotate}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{metadata: Object.metadata{annotations: {"mutated-by": "admission-policy"}}}'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: annotate}
spec: {policyName: annotate}
`
	if _, errOut, err := c.kubectlIn(policy, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	for i := 0; ; i++ {
		name := fmt.Sprintf("d%d", i)
		_, errOut, err := c.kubectl("create", "deployment", name, "--image=busybox")
		if err != nil {
			t.Fatalf("a create while the policy comes into force: %v %s", err, errOut)
		}
		if c.mustKubectl("get", "deployment", name, "-o", `jsonpath={.metadata.annotations.mutated-by}`) == "admission-policy" {
			break
		}
		if i == 100 {
			t.Fatal("the policy never applied")
		}
	}
}
