package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// TestKubectlTop covers resource metrics without metrics-server: the agent serves the
// kubelet's /stats/summary and /metrics/resource, the server scrapes them and serves
// metrics.k8s.io, and `kubectl top` reads it.
func TestKubectlTop(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels: {app: busy}
spec:
  containers:
  - name: spin
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.waitRunning("busy")

	// The agent's endpoints, through the node proxy.
	out := c.mustKubectl("get", "--raw", "/api/v1/nodes/e2e-node/proxy/metrics/resource")
	for _, want := range []string{
		"# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
		`container_cpu_usage_seconds_total{container="spin",namespace="default",pod="busy"}`,
		`container_memory_working_set_bytes{container="spin",namespace="default",pod="busy"}`,
		`container_start_time_seconds{container="spin",namespace="default",pod="busy"}`,
		`pod_cpu_usage_seconds_total{namespace="default",pod="busy"}`,
		"node_cpu_usage_seconds_total ",
		"node_memory_working_set_bytes ",
		"resource_scrape_error 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics/resource lacks %q:\n%s", want, out)
		}
	}
	out = c.mustKubectl("get", "--raw", "/api/v1/nodes/e2e-node/proxy/stats/summary")
	for _, want := range []string{`"nodeName":"e2e-node"`, `"podRef":{"name":"busy","namespace":"default"`, `"name":"spin"`, `"usageCoreNanoSeconds":`} {
		if !strings.Contains(out, want) {
			t.Errorf("/stats/summary lacks %s:\n%s", want, out)
		}
	}

	// Discovery lists the group, served locally.
	if out := c.mustKubectl("api-resources", "--api-group=metrics.k8s.io"); !regexp.MustCompile(`nodes\s+metrics.k8s.io/v1beta1\s+false\s+NodeMetrics`).MatchString(out) ||
		!regexp.MustCompile(`pods\s+metrics.k8s.io/v1beta1\s+true\s+PodMetrics`).MatchString(out) {
		t.Errorf("api-resources --api-group=metrics.k8s.io:\n%s", out)
	}
	if out := c.mustKubectl("get", "apiservice", "v1beta1.metrics.k8s.io"); !regexp.MustCompile(`v1beta1\.metrics\.k8s\.io\s+Local\s+True`).MatchString(out) {
		t.Errorf("get apiservice v1beta1.metrics.k8s.io:\n%s", out)
	}
	c.mustKubectl("get", "clusterrole", "system:aggregated-metrics-reader")

	// Two scrapes, 15 s apart, give a rate: the spinning container uses most of a core.
	busyCPU := regexp.MustCompile(`(?m)^busy\s+(\d+)m\s+(\d+)Mi\s*$`)
	var podOut string
	poll(t, "kubectl top pod shows the busy pod", 2*time.Minute, func() bool {
		out, _, err := c.kubectl("top", "pod", "busy")
		if err != nil {
			return false
		}
		podOut = out
		m := busyCPU.FindStringSubmatch(out)
		if m == nil {
			return false
		}
		milli, _ := strconv.Atoi(m[1])
		return milli > 100
	})
	if !strings.HasPrefix(podOut, "NAME") || !strings.Contains(podOut, "CPU(cores)") || !strings.Contains(podOut, "MEMORY(bytes)") {
		t.Errorf("kubectl top pod busy:\n%s", podOut)
	}
	if out := c.mustKubectl("top", "pod", "-l", "app=busy", "--containers"); !regexp.MustCompile(`busy\s+spin\s+\d+m\s+\d+Mi`).MatchString(out) {
		t.Errorf("kubectl top pod -l app=busy --containers:\n%s", out)
	}
	if out := c.mustKubectl("top", "pod", "-A"); !regexp.MustCompile(`default\s+busy\s+\d+m`).MatchString(out) {
		t.Errorf("kubectl top pod -A:\n%s", out)
	}
	if out, errOut, err := c.kubectl("top", "pod", "-l", "app=none"); err != nil || !strings.Contains(errOut, "No resources found in default namespace.") {
		t.Errorf("kubectl top pod -l app=none: %v\n%s%s", err, out, errOut)
	}

	nodeLine := regexp.MustCompile(`(?m)^e2e-node\s+(\d+)m\s+(\d+)%\s+(\d+)Mi\s+(\d+)%\s*$`)
	var nodeOut string
	poll(t, "kubectl top node shows the node", time.Minute, func() bool {
		out, _, err := c.kubectl("top", "node")
		nodeOut = out
		return err == nil && nodeLine.MatchString(out)
	})
	if m := nodeLine.FindStringSubmatch(nodeOut); m == nil || m[1] == "0" || m[3] == "0" {
		t.Errorf("kubectl top node:\n%s", nodeOut)
	}
	if out := c.mustKubectl("top", "node", "e2e-node"); !nodeLine.MatchString(out) {
		t.Errorf("kubectl top node e2e-node:\n%s", out)
	}

	// The objects themselves, and their table.
	var pm metricsv1beta1.PodMetrics
	raw := c.mustKubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy")
	if err := json.Unmarshal([]byte(raw), &pm); err != nil {
		t.Fatalf("PodMetrics: %v\n%s", err, raw)
	}
	if pm.Kind != "PodMetrics" || pm.Labels["app"] != "busy" || len(pm.Containers) != 1 || pm.Containers[0].Name != "spin" ||
		pm.Window.Duration <= 0 || pm.Timestamp.IsZero() {
		t.Errorf("PodMetrics:\n%s", raw)
	}
	if out := c.mustKubectl("get", "pods.metrics.k8s.io"); !regexp.MustCompile(`NAME\s+CPU\s+MEMORY\s+WINDOW\n(?s:.*)busy\s+\d+n\s+\d+(Ki|Mi)?\s+\d+(\.\d+)?s`).MatchString(out) {
		t.Errorf("kubectl get pods.metrics.k8s.io:\n%s", out)
	}
	if _, errOut, err := c.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nothere"); err == nil || !strings.Contains(errOut, "NotFound") {
		t.Errorf("PodMetrics of a pod that does not exist: %v %s", err, errOut)
	}
}

// poll checks cond every 2 s until it holds, for at most timeout.
func poll(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}
