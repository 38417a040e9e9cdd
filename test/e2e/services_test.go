package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// TestServiceTrafficReachesReadyPods is the seed's readiness lesson through a Service:
// two echo pods behind one NodePort Service, one of them failing its readiness probe.
// Requests through the ClusterIP from a pod and through the NodePort from the host all
// reach the ready pod; `kubectl describe svc` lists it alone; once the other pod's
// probe passes, traffic reaches both. A Service without endpoints refuses connections
// at once.
func TestServiceTrafficReachesReadyPods(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  type: NodePort
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: echo-ready, labels: {app: echo}}
spec:
  containers:
  - name: echo
    image: subicura/echo:v1
    ports: [{name: web, containerPort: 3000}]
    readinessProbe:
      tcpSocket: {port: 3000}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: echo-later, labels: {app: echo}}
spec:
  containers:
  - name: echo
    image: subicura/echo:v1
    ports: [{name: web, containerPort: 3000}]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: client
    image: busybox
    command: ["sleep", "3600"]
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	ready := c.waitRunning("echo-ready")
	c.waitRunning("client")
	cs := c.client()
	ctx := context.Background()
	svc, err := cs.CoreV1().Services("default").Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, one(cs, "endpoints", "default", "echo"), "the ready pod in the endpoints", func(ep *corev1.Endpoints, ok bool) bool {
		return ok && len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1 && ep.Subsets[0].Addresses[0].IP == ready.Status.PodIP &&
			len(ep.Subsets[0].NotReadyAddresses) == 1
	})
	waitFor(t, sliceOf(cs, "default", "echo"), "the ready pod in the slice", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 1 && len(sl.Endpoints) == 2
	})
	if out := c.mustKubectl("describe", "svc", "echo"); !strings.Contains(out, "Endpoints:") || !strings.Contains(out, ready.Status.PodIP+":3000") {
		t.Fatalf("describe svc lists no ready endpoint:\n%s", out)
	}

	// The API server's proxy reaches the ready pod through the Service, by port name
	// or number, and the node's agent through the Node.
	for _, port := range []string{"http", "80"} {
		out := c.mustKubectl("get", "--raw", "/api/v1/namespaces/default/services/echo:"+port+"/proxy/some/path")
		if !strings.Contains(out, "host: echo-ready") || !strings.Contains(out, "path: /some/path") {
			t.Fatalf("services/echo:%s/proxy:\n%s", port, out)
		}
	}
	if _, errOut, err := c.kubectl("get", "--raw", "/api/v1/namespaces/default/services/nobody/proxy/"); err == nil || !strings.Contains(errOut, "ServiceUnavailable") {
		t.Fatalf("services/nobody/proxy: %v %s; want 503", err, errOut)
	}
	nodeName := ready.Spec.NodeName
	if out := c.mustKubectl("get", "--raw", "/api/v1/nodes/"+nodeName+"/proxy/healthz"); out != "ok" {
		t.Fatalf("nodes/%s/proxy/healthz: %q", nodeName, out)
	}
	var onNode corev1.PodList
	if err := json.Unmarshal([]byte(c.mustKubectl("get", "--raw", "/api/v1/nodes/"+nodeName+"/proxy/pods")), &onNode); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(onNode.Items, func(p corev1.Pod) bool { return p.Name == "echo-ready" }) {
		t.Fatalf("nodes/%s/proxy/pods lists %d pods, not echo-ready", nodeName, len(onNode.Items))
	}
	c.mustKubectl("get", "--raw", "/api/v1/nodes/"+nodeName+"/proxy/logs/")

	// 1,000 requests through the ClusterIP from inside a pod.
	fromPod := func(n int) map[string]int {
		t.Helper()
		script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s 80 | grep '^host: '; i=$((i+1)); done`, n, svc.Spec.ClusterIP)
		out, errOut, err := c.kubectl("exec", "client", "--", "sh", "-c", script)
		got := countHosts(out)
		if err != nil || len(got) == 0 {
			table, _ := exec.Command("nft", "list", "table", "ip", "podium").CombinedOutput()
			t.Logf("requests from the client pod: %v\n%.2000s%.2000s\nthe service table:\n%s", err, out, errOut, table)
		}
		return got
	}
	if got := fromPod(1000); got["echo-ready"] != 1000 {
		t.Fatalf("through the ClusterIP: %v; want all 1000 at echo-ready", got)
	}
	// 1,000 through the NodePort from the host, each on a connection of its own.
	node, err := cs.CoreV1().Nodes().Get(ctx, "e2e-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeURL := fmt.Sprintf("http://%s/", net.JoinHostPort(internalIP(node), fmt.Sprint(svc.Spec.Ports[0].NodePort)))
	fromHost := func(n int) map[string]int {
		t.Helper()
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		var all strings.Builder
		for range n {
			resp, err := client.Get(nodeURL)
			if err != nil {
				t.Fatalf("through the NodePort: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			all.WriteString(strings.SplitN(string(body), "\n", 2)[0] + "\n")
		}
		return countHosts(all.String())
	}
	if got := fromHost(1000); got["echo-ready"] != 1000 {
		t.Fatalf("through the NodePort: %v; want all 1000 at echo-ready", got)
	}

	// The other pod turns ready: traffic reaches both.
	c.mustKubectl("exec", "echo-later", "--", "sh", "-c", "echo ok > /tmp/ready")
	waitFor(t, sliceOf(cs, "default", "echo"), "both pods ready in the slice", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 2
	})
	if got := fromPod(200); got["echo-ready"] == 0 || got["echo-later"] == 0 || got["echo-ready"]+got["echo-later"] != 200 {
		t.Fatalf("through the ClusterIP with both ready: %v", got)
	}
	if got := fromHost(200); got["echo-ready"] == 0 || got["echo-later"] == 0 {
		t.Fatalf("through the NodePort with both ready: %v", got)
	}

	// A LoadBalancer Service gets the node's address as its ingress, as k3s's service
	// load balancer does, and its port answers there.
	lb := `
apiVersion: v1
kind: Service
metadata: {name: echo-lb}
spec:
  type: LoadBalancer
  selector: {app: echo}
  ports: [{port: 8080, targetPort: web}]
`
	if _, errOut, err := c.kubectlIn(lb, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the LoadBalancer: %v %s", err, errOut)
	}
	waitFor(t, one(cs, "services", "default", "echo-lb"), "echo-lb's ingress", func(s *corev1.Service, ok bool) bool {
		return ok && len(s.Status.LoadBalancer.Ingress) == 1 && s.Status.LoadBalancer.Ingress[0].IP == internalIP(node)
	})
	if out := c.mustKubectl("get", "svc", "echo-lb"); !strings.Contains(out, internalIP(node)) {
		t.Fatalf("get svc echo-lb shows no external IP:\n%s", out)
	}
	lbClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	lbURL := "http://" + net.JoinHostPort(internalIP(node), "8080") + "/"
	waitUntil(t, "echo-lb answering on the node's address", func() bool {
		resp, err := lbClient.Get(lbURL)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.HasPrefix(string(body), "host: echo-")
	})

	// No endpoints: refused at once, not left to time out.
	nobody, err := cs.CoreV1().Services("default").Get(ctx, "nobody", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, err := c.kubectl("exec", "client", "--", "nc", "-w", "10", nobody.Spec.ClusterIP, "80")
	if err == nil || !strings.Contains(out+errOut, "refused") {
		t.Fatalf("a Service without endpoints: %v %s%s; want the connection refused", err, out, errOut)
	}
}

// countHosts counts the "host: NAME" lines of echo's answers by NAME.
func countHosts(out string) map[string]int {
	got := map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "host: "); ok {
			got[name]++
		}
	}
	return got
}

func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// sliceOf watches the EndpointSlices of Service name.
func sliceOf(cs kubernetes.Interface, namespace, name string) cache.ListerWatcher {
	return cache.NewFilteredListWatchFromClient(cs.DiscoveryV1().RESTClient(), "endpointslices", namespace, func(o *metav1.ListOptions) {
		o.LabelSelector = discoveryv1.LabelServiceName + "=" + name
	})
}

func readyEndpoints(sl *discoveryv1.EndpointSlice) int {
	n := 0
	for _, e := range sl.Endpoints {
		if e.Conditions.Ready != nil && *e.Conditions.Ready {
			n++
		}
	}
	return n
}

// TestClusterDNS: pods of dnsPolicy ClusterFirst resolve Services through the built-in
// DNS at kube-system/kube-dns: a ClusterIP Service, a headless Service's pods by their
// hostname, an ExternalName Service (a CNAME), and a pod's own dashed-address name.
func TestClusterDNS(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  selector: {app: named}
  ports: [{name: http, port: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: alias}
spec:
  type: ExternalName
  externalName: headless.default.svc.cluster.local
---
apiVersion: v1
kind: Pod
metadata: {name: named, labels: {app: named}}
spec:
  hostname: web-0
  subdomain: headless
  containers:
  - name: echo
    image: subicura/echo:v1
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: client
    image: busybox
    command: ["sleep", "3600"]
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	named := c.waitRunning("named")
	c.waitRunning("client")
	cs := c.client()
	dnsSvc, err := cs.CoreV1().Services("kube-system").Get(context.Background(), "kube-dns", metav1.GetOptions{})
	if err != nil || dnsSvc.Spec.ClusterIP != "10.43.0.10" || dnsSvc.Labels["k8s-app"] != "kube-dns" {
		t.Fatalf("Service kube-system/kube-dns: %v %+v", err, dnsSvc)
	}
	resolv := c.mustKubectl("exec", "client", "--", "cat", "/etc/resolv.conf")
	for _, want := range []string{"nameserver 10.43.0.10", "search default.svc.cluster.local svc.cluster.local cluster.local", "options ndots:5"} {
		if !strings.Contains(resolv, want) {
			t.Fatalf("the pod's resolv.conf lacks %q:\n%s", want, resolv)
		}
	}
	waitFor(t, sliceOf(cs, "default", "headless"), "the named pod ready in the headless Service", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 1
	})
	lookup := func(name string, want ...string) {
		t.Helper()
		out, errOut, err := c.kubectl("exec", "client", "--", "nslookup", name)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("nslookup %s: %v\n%s%s\nwant %q", name, err, out, errOut, w)
			}
		}
	}
	lookup("kubernetes.default.svc.cluster.local", "Address: 10.43.0.1")
	lookup("headless.default.svc.cluster.local", "Address: "+named.Status.PodIP)
	lookup("web-0.headless.default.svc.cluster.local", "Address: "+named.Status.PodIP)
	lookup("alias.default.svc.cluster.local", "canonical name = headless.default.svc.cluster.local", "Address: "+named.Status.PodIP)
	dashed := strings.ReplaceAll(named.Status.PodIP, ".", "-") + ".default.pod.cluster.local"
	lookup(dashed, "Address: "+named.Status.PodIP)
	out, _, _ := c.kubectl("exec", "client", "--", "nslookup", "nothing.default.svc.cluster.local")
	if !strings.Contains(out, "NXDOMAIN") {
		t.Fatalf("nslookup of a Service that does not exist:\n%s", out)
	}
}
