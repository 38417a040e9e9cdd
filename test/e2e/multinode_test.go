package e2e

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/netnstest"
	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/test/images"
)

// hostsNet is the test's own network of "hosts": a bridge in the root namespace and one
// network namespace per node, with addresses that exist only inside them.
const (
	hostsPrefix    = "172.31.254"
	multiNodeCIDR  = "10.244.112.0/20"
	multiNodeCount = 3
)

// testHosts makes the bridge and count namespaces, host i (from 1) at hostsPrefix.(10+i); cleanup deletes them, and with them
// everything the agents made inside (bridges, rules, routes).
func testHosts(t *testing.T, count int) (bridgeIP string, hosts []string) {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	bridge := "podh" + id
	run("link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	run("addr", "add", hostsPrefix+".1/24", "dev", bridge)
	run("link", "set", bridge, "up")
	for i := 1; i <= count; i++ {
		ns := fmt.Sprintf("podh%s-%d", id, i)
		veth := fmt.Sprintf("ph%s%d", id, i)
		netnstest.Add(t, ns)
		run("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run("link", "set", veth, "master", bridge, "up")
		run("link", "set", "dev", veth, "type", "bridge_slave", "hairpin", "on") // as the conformance runner's
		run("netns", "exec", ns, "ip", "addr", "add", fmt.Sprintf("%s.%d/24", hostsPrefix, 10+i), "dev", "eth0")
		run("netns", "exec", ns, "ip", "link", "set", "eth0", "up")
		run("netns", "exec", ns, "ip", "link", "set", "lo", "up")
		hosts = append(hosts, ns)
	}
	return hostsPrefix + ".1", hosts
}

// TestPodsAcrossNodes runs three agents, each in a network namespace of its own (three
// hosts on one machine), spreads pods over them, and checks that a pod on one node
// reaches pods on the others by IP, and that a node reaches them too.
func TestPodsAcrossNodes(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	bridgeIP, hosts := testHosts(t, multiNodeCount)
	imgs, err := images.Seed("../..")
	if err != nil {
		t.Fatal(err)
	}
	registryHost, stopRegistry, err := images.ServeOn(bridgeIP+":0", imgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopRegistry)

	// Agents heartbeat every 10 s; a 15 s grace keeps the test of a stopped agent short.
	c := startCluster(t, "--bind-address", bridgeIP, "--cluster-cidr", multiNodeCIDR, "--node-monitor-grace-period", "15s")
	token, err := exec.Command(filepath.Join(c.bin, "podium"), "server", "token", "--data-dir", c.dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	var agents []*exec.Cmd
	for i, ns := range hosts {
		dir := t.TempDir()
		if err := images.WriteMirror(dir, registryHost); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("host-%d", i+1)
		// nsenter, unlike ip netns exec, leaves /sys (and so the cgroup mounts) alone.
		cmd := exec.Command("nsenter", "--net=/run/netns/"+ns, filepath.Join(c.bin, "podium"), "agent",
			"--server", fmt.Sprintf("https://%s:%d", bridgeIP, c.port), "--token", strings.TrimSpace(string(token)),
			"--node-name", name, "--data-dir", dir, "--pod-log-dir", t.TempDir(), "--cluster-cidr", multiNodeCIDR,
			"--agent-port", fmt.Sprint(etcdtest.FreePort(t)))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, cmd)
	}
	t.Cleanup(func() {
		if _, errOut, err := c.kubectl("delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s"); err != nil {
			t.Errorf("deleting pods: %v %s", err, errOut)
		}
		for _, a := range agents {
			_ = a.Process.Signal(syscall.SIGTERM)
			_ = a.Wait()
		}
	})
	cs := c.client()
	for i := range hosts {
		name := fmt.Sprintf("host-%d", i+1)
		waitFor(t, one(cs, "nodes", "", name), name+" Ready", func(n *corev1.Node, ok bool) bool {
			if !ok {
				return false
			}
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return true
				}
			}
			return false
		})
	}
	checkAgentCredentials(t, c, hosts)

	// Six pods spread over the three nodes by the scheduler.
	for i := 0; i < 2*multiNodeCount; i++ {
		c.mustKubectl("run", fmt.Sprintf("web-%d", i), "--image=nginx", "--labels=app=web")
	}
	ipOn := map[string]string{}
	for i := 0; i < 2*multiNodeCount; i++ {
		p := c.waitRunning(fmt.Sprintf("web-%d", i))
		ipOn[p.Spec.NodeName] = p.Status.PodIP
	}
	if len(ipOn) != multiNodeCount {
		t.Fatalf("pods landed on %d nodes, want all %d: %v", len(ipOn), multiNodeCount, ipOn)
	}
	// From a pod on host-1 to the pods of the other nodes.
	l, err := cs.CoreV1().Pods("default").List(bg, metav1.ListOptions{FieldSelector: "spec.nodeName=host-1"})
	if err != nil || len(l.Items) == 0 {
		t.Fatalf("pods on host-1: %v", err)
	}
	from := l.Items[0].Name
	for node, ip := range ipOn {
		out := c.mustKubectl("exec", from, "--", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 `+ip+` 80`)
		if !strings.Contains(out, "Welcome to nginx!") {
			t.Errorf("pod on host-1 to the pod on %s (%s): %q", node, ip, out)
		}
	}
	// Through a Service: its ClusterIP from a pod on host-1, to endpoints on every
	// node; its name through the cluster DNS; its NodePort on host-1 from host-3.
	c.mustKubectl("expose", "pod", "web-0", "--name=web", "--port=80", "--selector=app=web", "--type=NodePort")
	web, err := cs.CoreV1().Services("default").Get(bg, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, sliceOf(cs, "default", "web"), "web's endpoints ready", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 2*multiNodeCount
	})
	script := `i=0; while [ $i -lt 30 ]; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 ` + web.Spec.ClusterIP + ` 80 | grep -c Welcome; i=$((i+1)); done`
	if out := c.mustKubectl("exec", from, "--", "sh", "-c", script); strings.Count(out, "1\n") != 30 {
		t.Errorf("30 requests to web's ClusterIP from host-1: %q", out)
	}
	if out := c.mustKubectl("exec", from, "--", "nslookup", "web.default.svc.cluster.local"); !strings.Contains(out, "Address: "+web.Spec.ClusterIP) {
		t.Errorf("nslookup web from host-1:\n%s", out)
	}
	out, err := exec.Command("ip", "netns", "exec", hosts[2], "bash", "-c",
		fmt.Sprintf("exec 3<>/dev/tcp/%s.11/%d && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3", hostsPrefix, web.Spec.Ports[0].NodePort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Welcome to nginx!") {
		t.Errorf("host-3 to web's NodePort on host-1: %v %q", err, out)
	}

	// A NodePort on another node, to an endpoint on the client's own node: the packets
	// go to host-2 and come back to host-1 (the conformance specs' session affinity
	// checks reach this path when the endpoint they stick to is on the client's node).
	solo := `
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec:
  nodeName: host-1
  containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  type: NodePort
  selector: {app: solo}
  ports: [{port: 80}]
`
	if _, errOut, err := c.kubectlIn(solo, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply solo: %v %s", err, errOut)
	}
	c.waitRunning("solo")
	soloSvc, err := cs.CoreV1().Services("default").Get(bg, "solo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, sliceOf(cs, "default", "solo"), "solo's endpoint ready", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 1
	})
	toHost2 := fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s.12 %d`, hostsPrefix, soloSvc.Spec.Ports[0].NodePort)
	if out, errOut, err := c.kubectl("exec", from, "--", "sh", "-c", toHost2); err != nil || !strings.Contains(out, "Welcome to nginx!") {
		t.Errorf("a pod on host-1 to solo's NodePort on host-2, its endpoint on host-1: %v %q %s", err, out, errOut)
	}

	// A pod no node fits stays Pending with FailedScheduling, and schedules once a node
	// fits: here, once host-2 gets the label it asks for.
	c.mustKubectl("run", "picky", "--image=nginx", "--overrides", `{"spec":{"nodeSelector":{"disk":"ssd"}}}`)
	waitFor(t, one(cs, "pods", "default", "picky"), "picky unschedulable", func(p *corev1.Pod, ok bool) bool {
		if !ok {
			return false
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == "Unschedulable" &&
				strings.Contains(cond.Message, "0/3 nodes are available") && strings.Contains(cond.Message, "didn't match Pod's node affinity/selector") {
				return true
			}
		}
		return false
	})
	if out := c.mustKubectl("describe", "pod", "picky"); !strings.Contains(out, "FailedScheduling") {
		t.Errorf("describe picky:\n%s", out)
	}
	c.mustKubectl("label", "node", "host-2", "disk=ssd")
	if p := c.waitRunning("picky"); p.Spec.NodeName != "host-2" {
		t.Errorf("picky landed on %s", p.Spec.NodeName)
	}

	// Cordon and drain: nothing new lands on a cordoned node; a drain evicts that node's
	// pods and leaves the others alone.
	c.mustKubectl("cordon", "host-3")
	c.mustKubectl("run", "late", "--image=nginx")
	if p := c.waitRunning("late"); p.Spec.NodeName == "host-3" {
		t.Errorf("a pod landed on the cordoned host-3")
	}
	before, _ := cs.CoreV1().Pods("default").List(bg, metav1.ListOptions{FieldSelector: "spec.nodeName=host-1"})
	c.mustKubectl("drain", "host-3", "--force", "--grace-period=1", "--timeout=60s")
	left, _ := cs.CoreV1().Pods("default").List(bg, metav1.ListOptions{FieldSelector: "spec.nodeName=host-3"})
	if len(left.Items) != 0 {
		t.Errorf("pods left on the drained host-3: %d", len(left.Items))
	}
	after, _ := cs.CoreV1().Pods("default").List(bg, metav1.ListOptions{FieldSelector: "spec.nodeName=host-1"})
	if len(after.Items) != len(before.Items) {
		t.Errorf("pods on host-1: %d before the drain of host-3, %d after", len(before.Items), len(after.Items))
	}

	// From a node (host-3's namespace) to a pod on host-1.
	out, err = exec.Command("ip", "netns", "exec", hosts[2], "bash", "-c",
		fmt.Sprintf("exec 3<>/dev/tcp/%s/80 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3", ipOn["host-1"])).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Welcome to nginx!") {
		t.Errorf("host-3 to the pod on host-1: %v %q", err, out)
	}

	// An agent stopped for good: its node turns NotReady (Unknown) with the unreachable
	// taint once its Lease is no longer renewed.
	_ = agents[2].Process.Signal(syscall.SIGTERM)
	_ = agents[2].Wait()
	waitFor(t, one(cs, "nodes", "", "host-3"), "host-3 NotReady after its agent stopped", func(n *corev1.Node, ok bool) bool {
		if !ok {
			return false
		}
		unknown, tainted := false, false
		for _, cond := range n.Status.Conditions {
			unknown = unknown || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionUnknown)
		}
		for _, taint := range n.Spec.Taints {
			tainted = tainted || taint.Key == corev1.TaintNodeUnreachable
		}
		return unknown && tainted
	})
	if out := c.mustKubectl("get", "node", "host-3"); !strings.Contains(out, "NotReady") {
		t.Errorf("get node host-3:\n%s", out)
	}
}

// checkAgentCredentials checks what the agents of TestPodsAcrossNodes authenticate with:
// each asked for its client certificate with the join token and for its serving
// certificate with its own; the API server reaches an agent only when it presents the
// serving certificate of the node it meant; and an agent answers a client only as far
// as the API server allows that client (a node, not at all).
func checkAgentCredentials(t *testing.T, c *cluster, hosts []string) {
	t.Helper()
	cs := c.client()
	reqs, err := cs.CertificatesV1().CertificateSigningRequests().List(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bySigner := map[string]int{}
	for _, r := range reqs.Items {
		if len(r.Status.Certificate) == 0 {
			t.Errorf("request %s of %s (%s) has no certificate", r.Name, r.Spec.Username, r.Spec.SignerName)
			continue
		}
		switch r.Spec.SignerName {
		case certificatesv1.KubeAPIServerClientKubeletSignerName:
			if !strings.HasPrefix(r.Spec.Username, "system:bootstrap:") {
				t.Errorf("a node's client certificate asked for by %s", r.Spec.Username)
			}
		case certificatesv1.KubeletServingSignerName:
			if !strings.HasPrefix(r.Spec.Username, "system:node:host-") {
				t.Errorf("a node's serving certificate asked for by %s", r.Spec.Username)
			}
		}
		bySigner[r.Spec.SignerName]++
	}
	if bySigner[certificatesv1.KubeAPIServerClientKubeletSignerName] != len(hosts) || bySigner[certificatesv1.KubeletServingSignerName] != len(hosts) {
		t.Errorf("certificate requests by signer: %v, want %d client and %d serving", bySigner, len(hosts), len(hosts))
	}

	host1, err := cs.CoreV1().Nodes().Get(bg, "host-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("%s.11:%d", hostsPrefix, host1.Status.DaemonEndpoints.KubeletEndpoint.Port)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.restConfig().CAData)
	get := func(cert *tls.Certificate) (int, string) {
		t.Helper()
		cfg := &tls.Config{RootCAs: roots}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
		resp, err := client.Get("https://" + addr + "/pods")
		if err != nil {
			t.Fatalf("host-1's agent (its serving certificate checked against the cluster CA and %s): %v", addr, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	if code, body := get(nil); code != http.StatusUnauthorized {
		t.Errorf("host-1's agent without a certificate: %d %s", code, body)
	}
	certPEM, keyPEM, err := pki.IssueClient(pki.Files{Dir: c.dataDir}, "system:node:host-2", []string{"system:nodes"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	host2, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(&host2); code != http.StatusForbidden || body != "Forbidden (user=system:node:host-2, verb=get, resource=nodes, subresource(s)=[pods proxy])" {
		t.Errorf("host-1's agent to host-2: %d %s", code, body)
	}
	if out := c.mustKubectl("get", "--raw", "/api/v1/nodes/host-1/proxy/pods"); !strings.Contains(out, `"kind":"PodList"`) {
		t.Errorf("host-1's pods through the API server: %.200s", out)
	}

	// A Node that names host-1's agent as its own: the API server does not take host-1
	// for it.
	impostor := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "impostor"}}
	if impostor, err = cs.CoreV1().Nodes().Create(bg, impostor, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	impostor.Status.Addresses = host1.Status.Addresses
	impostor.Status.DaemonEndpoints = host1.Status.DaemonEndpoints
	if _, err := cs.CoreV1().Nodes().UpdateStatus(bg, impostor, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := c.kubectl("get", "--raw", "/api/v1/nodes/impostor/proxy/pods"); err == nil || !strings.Contains(errOut, `not "system:node:impostor"`) {
		t.Errorf("the impostor's agent through the API server: %v %s", err, errOut)
	}
	if err := cs.CoreV1().Nodes().Delete(bg, "impostor", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, one(cs, "nodes", "", "impostor"), "the impostor gone", func(_ *corev1.Node, ok bool) bool { return !ok })
}
