package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const kubectlPath = "/usr/bin/kubectl"

// kubectl returns the path of the kubectl binary. It fails the test in CI, where
// the binary must be installed, and skips it elsewhere.
func kubectl(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(kubectlPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kubectl is required in CI: %v", err)
		}
		t.Skipf("no kubectl: %v", err)
	}
	return kubectlPath
}

// discoveryHandlers serves the minimal discovery kubectl needs to map "pod" to
// core/v1 pods, and records the query of every POST of a pod.
func discoveryHandlers(posts *[]string, mu *sync.Mutex) func(mux *http.ServeMux) {
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, metav1.APIVersions{
				TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
				Versions: []string{"v1"},
				ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
					{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
				},
			})
		})
		mux.HandleFunc("GET /apis", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}})
		})
		mux.HandleFunc("GET /api/v1", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, metav1.APIResourceList{
				TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
				GroupVersion: "v1",
				APIResources: []metav1.APIResource{{
					Name: "pods", SingularName: "pod", Namespaced: true, Kind: "Pod",
					Verbs: allVerbs, ShortNames: []string{"po"}, Categories: []string{"all"},
				}},
			})
		})
		mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, metav1.Status{
				TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status:   metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound,
				Message: "pods \"" + r.PathValue("name") + "\" not found",
			})
		})
		mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			*posts = append(*posts, r.URL.RawQuery)
			mu.Unlock()
			var pod corev1.Pod
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &pod); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			pod.Namespace = r.PathValue("ns")
			pod.UID = "0c4a35a0-8d1b-4a43-9a57-6f7c2b2c0e8e"
			pod.ResourceVersion = "1"
			writeJSON(w, http.StatusCreated, &pod)
		})
	}
}

// runKubectl runs kubectl against server with a fresh cache and no kubeconfig.
func runKubectl(t *testing.T, server string, stdin []byte, args ...string) string {
	t.Helper()
	return runBinary(t, kubectl(t), server, stdin, args...)
}

func runBinary(t *testing.T, binary, server string, stdin []byte, args ...string) string {
	t.Helper()
	home := t.TempDir()
	kubeconfig := filepath.Join(home, "config")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"--server", server, "--cache-dir", filepath.Join(home, "cache")}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+kubeconfig)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// words normalizes whitespace, so that descriptions kubectl wraps still match.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestKubectlExplain(t *testing.T) {
	kubectl(t)
	var mu sync.Mutex
	var posts []string
	srv := startServer(t, podResources(), discoveryHandlers(&posts, &mu))
	description := corev1.Container{}.SwaggerDoc()["livenessProbe"]

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"v3", []string{"explain", "pod.spec.containers.livenessProbe"},
			[]string{"KIND: Pod", "VERSION: v1", "FIELD: livenessProbe <Probe>", description, "httpGet <HTTPGetAction>", "periodSeconds <integer>"}},
		{"v2 protobuf", []string{"explain", "--output=plaintext-openapiv2", "pod.spec.containers.livenessProbe"},
			[]string{"KIND: Pod", "VERSION: v1", "RESOURCE: livenessProbe <Object>", description, "httpGet <Object>", "periodSeconds <integer>"}},
		{"v3 required", []string{"explain", "pod.spec"},
			[]string{"containers <[]Container> -required-"}},
		{"v3 int-or-string", []string{"explain", "pod.spec.containers.livenessProbe.httpGet.port"},
			[]string{"FIELD: port <IntOrString>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runKubectl(t, srv.URL, nil, tt.args...)
			for _, want := range tt.want {
				if !strings.Contains(words(out), words(want)) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestKubectlCreate checks that kubectl's default --validate=strict finds the
// fieldValidation parameter and leaves validation to the server.
func TestKubectlCreate(t *testing.T) {
	kubectl(t)
	var mu sync.Mutex
	var posts []string
	srv := startServer(t, podResources(), discoveryHandlers(&posts, &mu))
	manifest := []byte(`
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
`)
	out := runKubectl(t, srv.URL, manifest, "create", "-f", "-")
	if !strings.Contains(out, "pod/web created") {
		t.Errorf("kubectl create: %s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 || !strings.Contains(posts[0], "fieldValidation=Strict") {
		t.Errorf("POST queries = %q, want one with fieldValidation=Strict", posts)
	}
}

// TestKubectlVersions runs explain with each other kubectl release installed
// beside the Google Cloud SDK (1.27 and later read OpenAPI v3).
func TestKubectlVersions(t *testing.T) {
	binaries, _ := filepath.Glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*")
	if len(binaries) == 0 {
		t.Skip("no other kubectl releases installed")
	}
	var mu sync.Mutex
	var posts []string
	srv := startServer(t, podResources(), discoveryHandlers(&posts, &mu))
	description := words(corev1.Container{}.SwaggerDoc()["livenessProbe"])
	for _, binary := range binaries {
		t.Run(filepath.Base(binary), func(t *testing.T) {
			out := words(runBinary(t, binary, srv.URL, nil, "explain", "pod.spec.containers.livenessProbe"))
			for _, want := range []string{description, "httpGet", "periodSeconds"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
