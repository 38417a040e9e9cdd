package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHorizontalPodAutoscaler: an HPA made by kubectl autoscale scales a Deployment
// up while its pods burn CPU (through the scale subresource, on metrics podium serves
// itself), and back down once they stop, with upstream's event and conditions.
func TestHorizontalPodAutoscaler(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	// Each pod burns up to its limit (200m) until /tmp/stop exists: 200% of its
	// 100m request.
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: busybox
        command: ["sh", "-c", "while [ ! -f /tmp/stop ]; do :; done; exec sleep 3600"]
        resources: {requests: {cpu: 100m}, limits: {cpu: 200m}}
`
	if _, errOut, err := c.kubectlIn(deploy, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.mustKubectl("rollout", "status", "deployment/burn", "--timeout=60s")
	c.mustKubectl("autoscale", "deployment", "burn", "--cpu=50%", "--min=1", "--max=3")
	// Scale down at once when the load is gone, rather than after five minutes.
	c.mustKubectl("patch", "hpa", "burn", "--type=merge", "-p", `{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":0}}}}`)

	poll(t, "the HPA to scale up to 3", 3*time.Minute, func() bool {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "burn", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 3
	})
	hpa, err := cs.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "burn", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasCondition(hpa, autoscalingv2.AbleToScale, "SucceededRescale") || !hasCondition(hpa, autoscalingv2.ScalingActive, "ValidMetricFound") {
		t.Errorf("conditions after scaling up: %+v", hpa.Status.Conditions)
	}
	events := c.mustKubectl("get", "events", "--field-selector", "involvedObject.name=burn,reason=SuccessfulRescale", "-o", "jsonpath={.items[*].message}")
	if !strings.Contains(events, "New size: 3; reason: cpu resource utilization (percentage of request) above target") {
		t.Errorf("SuccessfulRescale events: %q", events)
	}
	if out := c.mustKubectl("get", "hpa", "burn"); !strings.Contains(out, "Deployment/burn") || !strings.Contains(out, "cpu:") {
		t.Errorf("kubectl get hpa:\n%s", out)
	}

	// The load stops: back to one.
	c.mustKubectl("rollout", "status", "deployment/burn", "--timeout=60s")
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=burn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			c.mustKubectl("exec", p.Name, "--", "touch", "/tmp/stop")
		}
	}
	poll(t, "the HPA to scale down to 1", 3*time.Minute, func() bool {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "burn", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 1
	})
	c.mustKubectl("delete", "hpa", "burn")
	c.mustKubectl("delete", "deployment", "burn")
	c.mustKubectl("wait", "--for=delete", "pods", "-l", "app=burn", "--timeout=60s")
}

func hasCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType, reason string) bool {
	for _, c := range hpa.Status.Conditions {
		if c.Type == typ && c.Reason == reason {
			return true
		}
	}
	return false
}

// TestPreemption: on a full node a pending pod of higher priority evicts one of lower
// priority (the Preempted event, the DisruptionTarget condition), is nominated to the
// node and then runs there; a pod whose preemptionPolicy is Never waits.
func TestPreemption(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	node, err := cs.CoreV1().Nodes().Get(ctx, "e2e-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Two thirds of the node's CPU: two such pods never fit at once.
	share := node.Status.Allocatable.Cpu().MilliValue() * 2 / 3
	classes := `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 10
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high-polite}
value: 1000
preemptionPolicy: Never
`
	if _, errOut, err := c.kubectlIn(classes, "apply", "-f", "-"); err != nil {
		t.Fatalf("classes: %v %s", err, errOut)
	}
	pod := func(name, class string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  priorityClassName: ` + class + `
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    resources: {requests: {cpu: ` + strconv.FormatInt(share, 10) + `m}}
`
	}
	if _, errOut, err := c.kubectlIn(pod("victim", "low"), "apply", "-f", "-"); err != nil {
		t.Fatalf("victim: %v %s", err, errOut)
	}
	victim := c.waitRunning("victim")

	// preemptionPolicy Never: it waits, and says preemption was not tried.
	if _, errOut, err := c.kubectlIn(pod("polite", "high-polite"), "apply", "-f", "-"); err != nil {
		t.Fatalf("polite: %v %s", err, errOut)
	}
	waitFor(t, one(cs, "pods", "default", "polite"), "the polite pod to be unschedulable", func(p *corev1.Pod, ok bool) bool {
		for _, cond := range p.Status.Conditions {
			if ok && cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable && strings.Contains(cond.Message, "Insufficient cpu") {
				return true
			}
		}
		return false
	})
	c.mustKubectl("delete", "pod", "polite")

	if _, errOut, err := c.kubectlIn(pod("vip", "high"), "apply", "-f", "-"); err != nil {
		t.Fatalf("vip: %v %s", err, errOut)
	}
	waitForWithin(t, time.Minute, one(cs, "pods", "default", "victim"), "the victim to be preempted", func(p *corev1.Pod, ok bool) bool {
		return !ok || p.UID != victim.UID
	})
	waitUntil(t, "the Preempted event", func() bool {
		out, _, _ := c.kubectl("get", "events", "--field-selector", "involvedObject.name=victim,reason=Preempted", "-o", "jsonpath={.items[*].message}")
		return strings.Contains(out, "Preempted by pod ") && strings.Contains(out, " on node e2e-node")
	})
	vip := c.waitRunning("vip")
	if vip.Spec.NodeName != "e2e-node" {
		t.Errorf("vip runs on %q", vip.Spec.NodeName)
	}
}
