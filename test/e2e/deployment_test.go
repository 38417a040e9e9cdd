package e2e

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// readyWatch follows the pods of a label selector and remembers the fewest ready ones
// (not being deleted) seen since it started.
type readyWatch struct {
	mu     sync.Mutex
	pods   map[string]bool // name -> ready and not terminating
	fewest int
	stop   func()
}

func watchReady(t *testing.T, c *cluster, selector string) *readyWatch {
	t.Helper()
	pods := c.client().CoreV1().Pods("default")
	list, err := pods.List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(context.Background(), metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	r := &readyWatch{pods: map[string]bool{}, stop: w.Stop}
	for i := range list.Items {
		p := &list.Items[i]
		r.pods[p.Name] = p.DeletionTimestamp == nil && podIsReady(p)
	}
	r.fewest = r.ready()
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			r.mu.Lock()
			r.pods[pod.Name] = ev.Type != watch.Deleted && pod.DeletionTimestamp == nil && podIsReady(pod)
			r.fewest = min(r.fewest, r.ready())
			r.mu.Unlock()
		}
	}()
	return r
}

// ready counts the ready pods; r.mu is held or r not yet shared.
func (r *readyWatch) ready() int {
	n := 0
	for _, ready := range r.pods {
		if ready {
			n++
		}
	}
	return n
}

func (r *readyWatch) min() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fewest
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestDeploymentRollout: the seed's closing lesson through kubectl. A Deployment of the
// echo image comes up (and its pods answer through the API server's pod proxy), rolls
// from v1 to v2 without ever having fewer ready pods than replicas -
// maxUnavailable, rollout undo returns to v1 as revision 3, scale resizes it, and
// deleting it with --cascade=orphan leaves its ReplicaSet and pods, which a background
// delete then removes.
func TestDeploymentRollout(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	c.mustKubectl("create", "deployment", "web", "--image=ghcr.io/subicura/echo:v1", "--replicas=3")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	if out := c.mustKubectl("get", "deployment", "web"); !regexp.MustCompile(`web\s+3/3\s+3\s+3\s+`).MatchString(out) {
		t.Fatalf("get deployment:\n%s", out)
	}
	if out := c.mustKubectl("get", "replicasets", "-l", "app=web"); !regexp.MustCompile(`web-[a-z0-9]+\s+3\s+3\s+3\s+`).MatchString(out) {
		t.Fatalf("get replicasets:\n%s", out)
	}

	// The pods' proxy subresource reaches a pod's port, with the path, without the
	// client's credentials.
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods of web: %v", err)
	}
	out := c.mustKubectl("get", "--raw", "/api/v1/namespaces/default/pods/"+pods.Items[0].Name+":3000/proxy/some/path/")
	if !strings.Contains(out, "path: /some/path/") || !strings.Contains(out, "method: GET") || strings.Contains(out, "Authorization") {
		t.Errorf("the pod's answer through the proxy:\n%s", out)
	}

	// 25% of 3 is no unavailable pod at all: 3 stay ready throughout.
	ready := watchReady(t, c, "app=web")
	defer ready.stop()
	c.mustKubectl("set", "image", "deployment/web", "echo=ghcr.io/subicura/echo:v2")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	images := func(want string) {
		t.Helper()
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				n++
				if p.Spec.Containers[0].Image != want {
					t.Errorf("pod %s runs %s, want %s", p.Name, p.Spec.Containers[0].Image, want)
				}
			}
		}
		if n != 3 {
			t.Errorf("%d pods, want 3", n)
		}
	}
	images("ghcr.io/subicura/echo:v2")
	if m := ready.min(); m < 3 {
		t.Errorf("%d ready pods at one moment of the rollout, want at least 3", m)
	}
	if out := c.mustKubectl("rollout", "history", "deployment/web"); !strings.Contains(out, "1 ") || !strings.Contains(out, "2 ") {
		t.Errorf("rollout history:\n%s", out)
	}

	c.mustKubectl("rollout", "undo", "deployment/web")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	images("ghcr.io/subicura/echo:v1")
	d, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Errorf("after undo: %v, revision %q, want 3", err, d.Annotations["deployment.kubernetes.io/revision"])
	}

	// The seed's readiness lesson: a template whose pods never become ready stops the
	// rollout at its progress deadline, and the old ready pods keep serving.
	c.mustKubectl("patch", "deployment", "web", "-p", `{"spec":{"progressDeadlineSeconds":10,"template":{"spec":{"containers":[`+
		`{"name":"echo","readinessProbe":{"httpGet":{"path":"/","port":9999},"periodSeconds":1}}]}}}}`)
	out, errOut, err := c.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
	if err == nil || !strings.Contains(errOut, "exceeded its progress deadline") {
		t.Errorf("rollout status of a template that never becomes ready: %v\n%s%s", err, out, errOut)
	}
	d, err = cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stalled := false
	for _, cond := range d.Status.Conditions {
		stalled = stalled || cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded"
	}
	if !stalled || d.Status.ReadyReplicas != 3 || d.Status.UpdatedReplicas != 1 {
		t.Errorf("stalled rollout: conditions %+v, ready %d, updated %d; want ProgressDeadlineExceeded, 3 ready, 1 updated",
			d.Status.Conditions, d.Status.ReadyReplicas, d.Status.UpdatedReplicas)
	}
	if m := ready.min(); m < 3 {
		t.Errorf("%d ready pods at one moment of the stalled rollout, want at least 3", m)
	}
	c.mustKubectl("rollout", "undo", "deployment/web")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	images("ghcr.io/subicura/echo:v1")

	c.mustKubectl("scale", "deployment/web", "--replicas=5")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	if out := c.mustKubectl("get", "deployment", "web"); !regexp.MustCompile(`web\s+5/5\s+5\s+5\s+`).MatchString(out) {
		t.Fatalf("get deployment after scaling:\n%s", out)
	}

	c.mustKubectl("delete", "deployment", "web", "--cascade=orphan")
	sets, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(sets.Items) != 3 {
		t.Fatalf("after an orphaning delete: %v, %d replica sets, want all three (v1, v2, the one never ready)", err, len(sets.Items))
	}
	for _, rs := range sets.Items {
		waitFor(t, one(cs, "replicasets", "default", rs.Name), "replica set "+rs.Name+" orphaned", func(rs *appsv1.ReplicaSet, ok bool) bool {
			return ok && len(rs.OwnerReferences) == 0
		})
	}
	c.mustKubectl("delete", "replicasets", "-l", "app=web")
	c.mustKubectl("wait", "--for=delete", "pods", "-l", "app=web", "--timeout=60s")
}

// TestDaemonSetRollout: a DaemonSet runs one pod on the node, rolls it from v1 to v2
// with kubectl, keeps a ControllerRevision for each template, and its pods go with it.
func TestDaemonSetRollout(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	manifest := `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: ghcr.io/subicura/echo:v1
`
	if out, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out, errOut)
	}
	c.mustKubectl("rollout", "status", "daemonset/agent", "--timeout=120s")
	podsOf := func() []corev1.Pod {
		t.Helper()
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			t.Fatal(err)
		}
		var out []corev1.Pod
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				out = append(out, p)
			}
		}
		return out
	}
	if pods := podsOf(); len(pods) != 1 || pods[0].Spec.NodeName != "e2e-node" {
		t.Fatalf("pods %v, want one on e2e-node", pods)
	}
	if out := c.mustKubectl("get", "daemonset", "agent"); !regexp.MustCompile(`agent\s+1\s+1\s+1\s+1\s+1\s+`).MatchString(out) {
		t.Fatalf("get daemonset:\n%s", out)
	}
	c.mustKubectl("set", "image", "daemonset/agent", "echo=ghcr.io/subicura/echo:v2")
	c.mustKubectl("rollout", "status", "daemonset/agent", "--timeout=120s")
	if pods := podsOf(); len(pods) != 1 || pods[0].Spec.Containers[0].Image != "ghcr.io/subicura/echo:v2" {
		t.Fatalf("after the rollout: %d pods, want one of v2", len(pods))
	}
	if out := c.mustKubectl("rollout", "history", "daemonset/agent"); !strings.Contains(out, "1 ") || !strings.Contains(out, "2 ") {
		t.Errorf("rollout history:\n%s", out)
	}
	c.mustKubectl("delete", "daemonset", "agent")
	c.mustKubectl("wait", "--for=delete", "pods", "-l", "app=agent", "--timeout=60s")
}

// TestStatefulSet: a StatefulSet's pods come up one by one as web-0, web-1, web-2, a
// deleted pod comes back under its own name, scale-down removes the highest ordinals,
// and a rolling update goes through kubectl rollout.
func TestStatefulSet(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	manifest := `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: ghcr.io/subicura/echo:v1
`
	// The pods are watched from before the create, to see the order they start in.
	pods := cs.CoreV1().Pods("default")
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: "app=web", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	var readyBeforeNext []bool
	ready := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Added {
				created = append(created, p.Name)
				// OrderedReady: every earlier ordinal is ready when a pod is made.
				all := true
				for _, name := range created[:len(created)-1] {
					all = all && ready[name]
				}
				readyBeforeNext = append(readyBeforeNext, all)
			}
			ready[p.Name] = podIsReady(p)
		}
	}()
	if out, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out, errOut)
	}
	c.mustKubectl("rollout", "status", "statefulset/web", "--timeout=120s")
	w.Stop()
	<-done
	if strings.Join(created, ",") != "web-0,web-1,web-2" || slices.Contains(readyBeforeNext, false) {
		t.Errorf("pods created in order %v, earlier ones ready each time: %v", created, readyBeforeNext)
	}
	if out := c.mustKubectl("get", "statefulset", "web"); !regexp.MustCompile(`web\s+3/3\s+`).MatchString(out) {
		t.Errorf("get statefulset:\n%s", out)
	}
	p1, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Spec.Hostname != "web-1" || p1.Spec.Subdomain != "web" || p1.Labels["statefulset.kubernetes.io/pod-name"] != "web-1" {
		t.Errorf("web-1: hostname %q subdomain %q labels %v", p1.Spec.Hostname, p1.Spec.Subdomain, p1.Labels)
	}
	c.mustKubectl("delete", "pod", "web-1")
	waitForWithin(t, 2*time.Minute, one(cs, "pods", "default", "web-1"), "web-1 to come back", func(p *corev1.Pod, ok bool) bool {
		return ok && p.UID != p1.UID && podIsReady(p)
	})

	c.mustKubectl("set", "image", "statefulset/web", "echo=ghcr.io/subicura/echo:v2")
	c.mustKubectl("rollout", "status", "statefulset/web", "--timeout=180s")
	for _, name := range []string{"web-0", "web-1", "web-2"} {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.Spec.Containers[0].Image != "ghcr.io/subicura/echo:v2" {
			t.Errorf("%s after the rollout: %v", name, err)
		}
	}

	c.mustKubectl("scale", "statefulset/web", "--replicas=1")
	c.mustKubectl("wait", "--for=delete", "pod/web-2", "pod/web-1", "--timeout=60s")
	if _, err := pods.Get(ctx, "web-0", metav1.GetOptions{}); err != nil {
		t.Errorf("web-0 after scaling to 1: %v", err)
	}
	c.mustKubectl("delete", "statefulset", "web")
	c.mustKubectl("wait", "--for=delete", "pods", "-l", "app=web", "--timeout=60s")
}

// TestDisruptionBudgetDrain: kubectl drain evicts through the eviction API, which
// refuses (429) to break a PodDisruptionBudget; drain keeps retrying until its timeout.
func TestDisruptionBudgetDrain(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	c.mustKubectl("create", "deployment", "web", "--image=ghcr.io/subicura/echo:v1", "--replicas=2")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	c.mustKubectl("create", "poddisruptionbudget", "web", "--selector=app=web", "--min-available=2")
	waitFor(t, one(cs, "poddisruptionbudgets", "default", "web"), "the budget's status", func(pdb *policyv1.PodDisruptionBudget, ok bool) bool {
		return ok && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.CurrentHealthy == 2 && pdb.Status.ExpectedPods == 2
	})
	if out := c.mustKubectl("get", "pdb", "web"); !regexp.MustCompile(`web\s+2\s+N/A\s+0\s+`).MatchString(out) {
		t.Errorf("get pdb:\n%s", out)
	}
	out, errOut, err := c.kubectl("drain", "e2e-node", "--ignore-daemonsets", "--timeout=8s")
	if err == nil || !strings.Contains(out+errOut, "disruption budget") {
		t.Errorf("drain past a budget of 2 of 2: %v\n%s%s", err, out, errOut)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			t.Errorf("pod %s evicted despite the budget", p.Name)
		}
	}

	// With one disruption allowed, one pod goes; its replacement cannot be scheduled on
	// the cordoned node, so the second eviction is refused.
	c.mustKubectl("patch", "pdb", "web", "--type=merge", "-p", `{"spec":{"minAvailable":1}}`)
	waitFor(t, one(cs, "poddisruptionbudgets", "default", "web"), "one disruption allowed", func(pdb *policyv1.PodDisruptionBudget, ok bool) bool {
		return ok && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.DisruptionsAllowed == 1
	})
	out, errOut, err = c.kubectl("drain", "e2e-node", "--ignore-daemonsets", "--timeout=8s")
	if err == nil || !strings.Contains(out, "evicted") {
		t.Errorf("drain with one disruption allowed: %v\n%s%s", err, out, errOut)
	}
	c.mustKubectl("uncordon", "e2e-node")
	c.mustKubectl("rollout", "status", "deployment/web", "--timeout=120s")
	c.mustKubectl("delete", "deployment", "web")
	c.mustKubectl("delete", "pdb", "web")
	c.mustKubectl("wait", "--for=delete", "pods", "-l", "app=web", "--timeout=60s")
}
