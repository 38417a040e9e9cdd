package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestKubectlRunGetDescribeDelete(t *testing.T) {
	c := startCluster(t)
	out := c.mustKubectl("run", "nginx", "--image=nginx", "--port=80", "--env=A=b")
	if !strings.Contains(out, "pod/nginx created") {
		t.Fatalf("run: %q", out)
	}
	for _, alias := range []string{"pods", "pod", "po"} {
		out = c.mustKubectl("get", alias)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !regexp.MustCompile(`^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`).MatchString(lines[0]) ||
			!regexp.MustCompile(`^nginx\s+0/1\s+Pending\s+0\s+\d+s$`).MatchString(lines[1]) {
			t.Fatalf("get %s:\n%s", alias, out)
		}
	}
	out = c.mustKubectl("get", "pods", "-o", "wide")
	if !regexp.MustCompile(`NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES`).MatchString(out) ||
		!regexp.MustCompile(`nginx\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>`).MatchString(out) {
		t.Fatalf("get -o wide:\n%s", out)
	}

	out = c.mustKubectl("get", "pod", "nginx", "-o", "yaml")
	for _, want := range []string{
		"restartPolicy: Always", "terminationGracePeriodSeconds: 30", "dnsPolicy: ClusterFirst",
		"schedulerName: default-scheduler", "imagePullPolicy: Always", "terminationMessagePath: /dev/termination-log",
		"terminationMessagePolicy: File", "enableServiceLinks: true", "priority: 0", "preemptionPolicy: PreemptLowerPriority",
		"key: node.kubernetes.io/not-ready", "key: node.kubernetes.io/unreachable", "tolerationSeconds: 300",
		"qosClass: BestEffort", "phase: Pending", "protocol: TCP", "uid: ", "creationTimestamp: ", "resourceVersion: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("get -o yaml lacks %q:\n%s", want, out)
		}
	}

	// describe shows the pod's events at the bottom.
	cs := c.client()
	pod, err := cs.CoreV1().Pods("default").Get(context.Background(), "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	_, err = cs.CoreV1().Events("default").Create(context.Background(), &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "nginx.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "nginx", UID: pod.UID, APIVersion: "v1"},
		Reason:         "Scheduled", Message: "Successfully assigned default/nginx to node-1", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "default-scheduler"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out = c.mustKubectl("describe", "pod", "nginx")
	for _, want := range []string{"Name:", "nginx", "Image:", "Events:", "Scheduled", "Successfully assigned default/nginx to node-1", "QoS Class:", "BestEffort"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}

	// An unbound pod is deleted at once, in either spelling.
	out = c.mustKubectl("delete", "pod/nginx")
	if !strings.Contains(out, `pod "nginx" deleted`) {
		t.Fatalf("delete pod/nginx: %q", out)
	}
	c.mustKubectl("run", "nginx2", "--image=nginx")
	out = c.mustKubectl("delete", "pod", "nginx2")
	if !strings.Contains(out, `pod "nginx2" deleted`) {
		t.Fatalf("delete pod nginx2: %q", out)
	}
	out = c.mustKubectl("get", "pods")
	if strings.Contains(out, "nginx") {
		t.Fatalf("pods left after delete:\n%s", out)
	}
}

func TestKubectlApply(t *testing.T) {
	c := startCluster(t)
	_, errOut, err := c.kubectl("apply", "-f", "testdata/nginx-pod-typo.yml")
	if err == nil || !strings.Contains(errOut, "line 14") {
		t.Fatalf("apply of the seed's typo: err %v, stderr %q; want an error naming line 14", err, errOut)
	}
	if out := c.mustKubectl("get", "pods", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Fatalf("the bad manifest created something: %q", out)
	}

	_, errOut, err = c.kubectl("apply", "-f", "testdata/nginx-pod-v2.yml")
	if err == nil || !strings.Contains(errOut, `no matches for kind "Pod" in version "v2"`) {
		t.Fatalf("apply with apiVersion v2: err %v, stderr %q", err, errOut)
	}

	out := c.mustKubectl("apply", "-f", "testdata/nginx-pod.yml")
	if !strings.Contains(out, "pod/nginx created") {
		t.Fatalf("apply: %q", out)
	}
	out = c.mustKubectl("get", "pods", "-l", "app=nginx-app", "-o", "name")
	if strings.TrimSpace(out) != "pod/nginx" {
		t.Fatalf("get by label: %q", out)
	}
	out = c.mustKubectl("apply", "-f", "testdata/nginx-pod.yml")
	if !strings.Contains(out, "pod/nginx unchanged") {
		t.Fatalf("unchanged apply: %q", out)
	}
	// An edited manifest goes through a strategic merge patch.
	changed := strings.Replace(readFile(t, "testdata/nginx-pod.yml"), "app: nginx-app", "app: nginx-app\n    tier: web", 1)
	out, errOut, err = c.kubectlIn(changed, "apply", "-f", "-", "-v=6")
	if err != nil || !strings.Contains(out, "pod/nginx configured") {
		t.Fatalf("apply changed: %v %q %q", err, out, errOut)
	}
	if !strings.Contains(errOut, `verb="PATCH"`) {
		t.Fatalf("apply of a change sent no PATCH:\n%s", errOut)
	}
	out = c.mustKubectl("get", "pod", "nginx", "-o", "jsonpath={.metadata.labels.tier}")
	if out != "web" {
		t.Fatalf("label after apply: %q", out)
	}
	// An image change is allowed; a port change is not.
	c.mustKubectl("set", "image", "pod/nginx", "my-nginx=nginx:1.27")
	_, errOut, err = c.kubectlIn(strings.Replace(changed, "containerPort: 80", "containerPort: 81", 1), "apply", "-f", "-")
	if err == nil || !strings.Contains(errOut, "pod updates may not change fields other than") {
		t.Fatalf("apply changing the port: err %v, stderr %q", err, errOut)
	}
}

func TestKubectlLabelAnnotateExplainAPIResources(t *testing.T) {
	c := startCluster(t)
	c.mustKubectl("run", "web", "--image=nginx")
	c.mustKubectl("label", "pod", "web", "env=prod")
	c.mustKubectl("annotate", "pod", "web", "note=hello")
	out := c.mustKubectl("get", "pod", "web", "-o", "jsonpath={.metadata.labels.env} {.metadata.annotations.note}")
	if out != "prod hello" {
		t.Fatalf("label/annotate: %q", out)
	}
	out = c.mustKubectl("get", "pods", "--show-labels")
	if !strings.Contains(out, "env=prod") || !strings.Contains(out, "run=web") {
		t.Fatalf("--show-labels:\n%s", out)
	}
	out = c.mustKubectl("explain", "pod.spec.containers.livenessProbe")
	for _, want := range []string{"KIND:", "Pod", "FIELD: livenessProbe", "httpGet", "periodSeconds", "Periodic probe of container liveness"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	out = c.mustKubectl("api-resources")
	for _, want := range []string{
		`pods\s+po\s+v1\s+true\s+Pod`, `namespaces\s+ns\s+v1\s+false\s+Namespace`, `nodes\s+no\s+v1\s+false\s+Node`,
		`leases\s+coordination.k8s.io/v1\s+true\s+Lease`, `events\s+ev\s+events.k8s.io/v1\s+true\s+Event`,
		`configmaps\s+cm\s+v1\s+true\s+ConfigMap`, `secrets\s+v1\s+true\s+Secret`, `services\s+svc\s+v1\s+true\s+Service`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("api-resources lacks %s:\n%s", want, out)
		}
	}
	out = c.mustKubectl("get", "namespaces")
	for _, ns := range systemNamespaces {
		if !regexp.MustCompile(`(?m)^` + ns + `\s+Active\s+`).MatchString(out) {
			t.Errorf("namespace %s missing:\n%s", ns, out)
		}
	}
}

var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func TestKubectlGetWatch(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "podium"), "kubectl", "--kubeconfig", c.kubeconfig, "get", "pods", "-w")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() { cancel(); <-exited }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	c.mustKubectl("run", "watched", "--image=busybox")
	c.mustKubectl("label", "pod", "watched", "seen=yes")
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < 3 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("kubectl get -w ended; got %q", got)
			}
			got = append(got, l)
		case <-deadline:
			t.Fatalf("kubectl get -w printed %q; want a header and two rows", got)
		}
	}
	if !regexp.MustCompile(`^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`).MatchString(got[0]) ||
		!regexp.MustCompile(`^watched\s+0/1\s+Pending\s+0\s+`).MatchString(got[1]) ||
		!regexp.MustCompile(`^watched\s+0/1\s+Pending\s+0\s+`).MatchString(got[2]) {
		t.Fatalf("kubectl get -w printed:\n%s", strings.Join(got, "\n"))
	}

	// A kill of the process that `podium kubectl` started reaches kubectl itself.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited: // kubectl's own handler ends it on SIGTERM
		exited <- err
	case <-time.After(30 * time.Second):
		t.Fatal("podium kubectl get -w still runs 30 s after SIGTERM")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
