package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/leader"
)

func TestServicesAndOtherResources(t *testing.T) {
	c := startCluster(t)
	c.mustKubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
	out := c.mustKubectl("get", "svc", "web")
	if !regexp.MustCompile(`web\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80/TCP\s+`).MatchString(out) {
		t.Fatalf("get svc:\n%s", out)
	}
	c.mustKubectl("create", "service", "nodeport", "np", "--tcp=80:8080")
	out = c.mustKubectl("get", "svc", "np")
	if !regexp.MustCompile(`np\s+NodePort\s+10\.43\.\d+\.\d+\s+<none>\s+80:3\d{4}/TCP\s+`).MatchString(out) {
		t.Fatalf("get svc np:\n%s", out)
	}
	c.mustKubectl("create", "configmap", "c1", "--from-literal=a=b")
	c.mustKubectl("create", "configmap", "c2", "--from-literal=a=b")
	c.mustKubectl("create", "secret", "generic", "s1", "--from-literal=a=b")
	c.mustKubectl("create", "serviceaccount", "robot")
	out = c.mustKubectl("get", "cm,secret,sa")
	for _, want := range []string{`configmap/c1\s+1\s+`, `secret/s1\s+Opaque\s+1\s+`, `serviceaccount/robot\s+0\s+`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("get cm,secret,sa lacks %s:\n%s", want, out)
		}
	}
	// deletecollection
	out = c.mustKubectl("delete", "cm", "--all")
	if !strings.Contains(out, `configmap "c1" deleted`) || !strings.Contains(out, `configmap "c2" deleted`) {
		t.Fatalf("delete --all: %q", out)
	}
	cs := c.client()
	if err := cs.CoreV1().Secrets("default").DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if l, _ := cs.CoreV1().Secrets("default").List(bg, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Fatalf("secrets after deletecollection: %d", len(l.Items))
	}

	// An events.k8s.io/v1 event is a core event too, and the other way round.
	now := metav1.NewMicroTime(time.Now())
	_, err := cs.EventsV1().Events("default").Create(bg, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "e1"}, EventTime: now, ReportingController: "podium.io/test", ReportingInstance: "t-1",
		Action: "Testing", Reason: "Tested", Note: "it works", Type: "Normal",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "x"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	core, err := cs.CoreV1().Events("default").Get(bg, "e1", metav1.GetOptions{})
	if err != nil || core.Message != "it works" || core.InvolvedObject.Name != "x" {
		t.Fatalf("events.k8s.io event as core: %v %+v", err, core)
	}
	out = c.mustKubectl("get", "events")
	if !regexp.MustCompile(`Normal\s+Tested\s+pod/x\s+it works`).MatchString(out) {
		t.Fatalf("get events:\n%s", out)
	}
	// Leases and nodes.
	if _, err := cs.CoreV1().Nodes().Create(bg, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.mustKubectl("cordon", "n1")
	out = c.mustKubectl("get", "nodes")
	if !regexp.MustCompile(`n1\s+Unknown,SchedulingDisabled|n1\s+NotReady,SchedulingDisabled`).MatchString(out) {
		t.Fatalf("get nodes after cordon:\n%s", out)
	}
	if _, err := c.client().CoreV1().Namespaces().Create(bg, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "Bad"}}, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("bad namespace name: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("missing").Create(bg, cmObj("x", nil), metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("create in a missing namespace: %v", err)
	}
}

// TestExternalEtcd runs the server on an etcd it does not own.
func TestExternalEtcd(t *testing.T) {
	bin := binDir(t)
	e := etcdtest.Member(t)
	c := &cluster{t: t, bin: bin, dataDir: t.TempDir(), port: etcdtest.FreePort(t), extraArgs: []string{"--etcd-endpoints", e.Endpoint()}}
	c.kubeconfig = filepath.Join(c.dataDir, "kubeconfig.yaml")
	c.start()
	t.Cleanup(c.stop)
	c.mustKubectl("create", "configmap", "on-external", "--from-literal=a=b")
	if _, err := os.Stat(filepath.Join(c.dataDir, "etcd")); err == nil {
		t.Fatal("an embedded etcd data dir was made despite --etcd-endpoints")
	}
	c.stop()
	c.start()
	c.mustKubectl("get", "configmap", "on-external")
}

// TestExternalEtcdTLS runs the server on an external etcd that serves HTTPS and wants
// client certificates: with the CA and a client certificate it works; a certificate
// without its key, or TLS files without --etcd-endpoints, are refused before anything is
// written.
func TestExternalEtcdTLS(t *testing.T) {
	bin := binDir(t)
	e, files := etcdtest.TLSMember(t)
	c := &cluster{t: t, bin: bin, dataDir: t.TempDir(), port: etcdtest.FreePort(t), extraArgs: []string{"--etcd-endpoints", e.Endpoint(),
		"--etcd-cafile", files.CA, "--etcd-certfile", files.ClientCert, "--etcd-keyfile", files.ClientKey}}
	c.kubeconfig = filepath.Join(c.dataDir, "kubeconfig.yaml")
	c.start()
	t.Cleanup(c.stop)
	c.mustKubectl("create", "configmap", "over-tls", "--from-literal=a=b")
	c.mustKubectl("get", "configmap", "over-tls")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--etcd-endpoints", e.Endpoint(), "--etcd-certfile", files.ClientCert}, "--etcd-certfile and --etcd-keyfile go together"},
		{[]string{"--etcd-cafile", files.CA}, "give --etcd-endpoints"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		out, err := exec.Command(filepath.Join(bin, "podium"), append([]string{"server", "--data-dir", dir, "--disable-agent"}, tc.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("podium server %v: %v\n%s", tc.args, err, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("podium server %v wrote its data directory: %v", tc.args, err)
		}
	}
}

// TestEtcdSnapshot: `podium etcd-snapshot save` takes a snapshot of the running
// server's datastore, `ls` lists it, `restore` refuses while the server runs and, once it
// is stopped, brings the datastore back to the snapshot: an object made after it is gone,
// one made before is there, and the server and kubectl carry on.
func TestEtcdSnapshot(t *testing.T) {
	c := startCluster(t)
	podium := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(c.bin, "podium"), append([]string{"etcd-snapshot"}, args...)...).CombinedOutput()
		return string(out), err
	}
	c.mustKubectl("create", "configmap", "before", "--from-literal=a=b")
	out, err := podium("save", "--data-dir", c.dataDir, "--etcd-client-port", strconv.Itoa(c.etcdPort))
	if err != nil || !strings.Contains(out, "Snapshot ") || !strings.Contains(out, " saved.") {
		t.Fatalf("save: %v\n%s", err, out)
	}
	out, err = podium("ls", "--data-dir", c.dataDir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "Name") || !strings.HasPrefix(lines[1], "on-demand-") {
		t.Fatalf("ls: %v\n%s", err, out)
	}
	name := strings.Fields(lines[1])[0]
	c.mustKubectl("create", "configmap", "after", "--from-literal=a=b")
	restore := []string{"restore", name, "--data-dir", c.dataDir, "--etcd-peer-port", strconv.Itoa(c.peerPort)}
	if out, err := podium(restore...); err == nil || !strings.Contains(out, "stop the server first") {
		t.Fatalf("restore under a running server: %v\n%s", err, out)
	}
	c.stop()
	if out, err := podium(restore...); err != nil || !strings.Contains(out, "Restored ") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	c.start()
	c.mustKubectl("get", "configmap", "before")
	if _, errOut, err := c.kubectl("get", "configmap", "after"); err == nil || !strings.Contains(errOut, "NotFound") {
		t.Fatalf("the configmap made after the snapshot: %v %s", err, errOut)
	}
	c.mustKubectl("create", "configmap", "again", "--from-literal=a=b")

	// On a fresh machine, the snapshot and the cluster's token bring the cluster back,
	// identity and all: the old kubeconfig works against the new server.
	token, err := exec.Command(filepath.Join(c.bin, "podium"), "server", "token", "--data-dir", c.dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	snap := strings.TrimPrefix(strings.Fields(lines[1])[1], "file://")
	c.stop()
	fresh := &cluster{t: t, bin: c.bin, dataDir: t.TempDir(), port: etcdtest.FreePort(t), etcdPort: etcdtest.FreePort(t), peerPort: etcdtest.FreePort(t),
		extraArgs: []string{"--cluster-reset", "--cluster-reset-restore-path", snap, "--token", strings.TrimSpace(string(token))}}
	fresh.kubeconfig = filepath.Join(fresh.dataDir, "kubeconfig.yaml")
	fresh.start()
	t.Cleanup(fresh.stop)
	if _, errOut, err := c.kubectl("--server", fresh.url(), "get", "configmap", "before"); err != nil {
		t.Fatalf("the old kubeconfig against the restored cluster: %v %s", err, errOut)
	}
}

// TestOlderKubectl checks the kubectl versions from 1.27 on that the machine has.
func TestOlderKubectl(t *testing.T) {
	c := startCluster(t)
	c.mustKubectl("run", "web", "--image=nginx")
	var found []string
	for _, v := range []string{"1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"} {
		if p, err := exec.LookPath("/usr/lib/google-cloud-sdk/bin/kubectl." + v); err == nil {
			found = append(found, p)
		}
	}
	if p, err := exec.LookPath("/usr/bin/kubectl"); err == nil {
		found = append(found, p)
	}
	if len(found) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no other kubectl on this machine (the image has them in /usr/lib/google-cloud-sdk/bin)")
		}
		t.Skip("no other kubectl on this machine")
	}
	for _, k := range found {
		run := func(args ...string) string {
			out, err := exec.Command(k, append([]string{"--kubeconfig", c.kubeconfig}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", k, args, err, out)
			}
			return string(out)
		}
		out := run("get", "pods")
		if !regexp.MustCompile(`web\s+0/1\s+Pending\s+0\s+`).MatchString(out) {
			t.Errorf("%s get pods:\n%s", k, out)
		}
		if out := run("explain", "pod.spec.containers.livenessProbe"); !strings.Contains(out, "httpGet") {
			t.Errorf("%s explain:\n%s", k, out)
		}
		if out := run("describe", "pod", "web"); !strings.Contains(out, "Events:") {
			t.Errorf("%s describe:\n%s", k, out)
		}
	}
}

// TestLeaderElection: two servers on one external etcd elect which runs the controllers
// and the scheduler (Leases kube-system/kube-controller-manager and kube-scheduler);
// when the leader is killed, the other takes both over within the lease's duration and
// its controllers do their work.
func TestLeaderElection(t *testing.T) {
	bin := binDir(t)
	e := etcdtest.Member(t)
	newServer := func(extra ...string) *cluster {
		c := &cluster{t: t, bin: bin, dataDir: t.TempDir(), port: etcdtest.FreePort(t),
			extraArgs: append([]string{"--etcd-endpoints", e.Endpoint(), "--disable-agent"}, extra...)}
		c.kubeconfig = filepath.Join(c.dataDir, "kubeconfig.yaml")
		c.start()
		t.Cleanup(c.stop)
		return c
	}
	identity := func(c *cluster) string {
		id, err := leader.Identity(c.dataDir)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	holder := func(c *cluster, lease string) string {
		out, _, _ := c.kubectl("get", "lease", "-n", "kube-system", lease, "-o", "jsonpath={.spec.holderIdentity}")
		return out
	}
	a := newServer()
	waitUntil(t, "the first server to lead", func() bool {
		return holder(a, "kube-controller-manager") == identity(a) && holder(a, "kube-scheduler") == identity(a)
	})
	token, err := exec.Command(filepath.Join(bin, "podium"), "server", "token", "--data-dir", a.dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	// A server without the cluster's token is refused before it writes anything.
	out, err := exec.Command(filepath.Join(bin, "podium"), "server", "--data-dir", t.TempDir(), "--bind-address", "127.0.0.1",
		"--https-listen-port", strconv.Itoa(etcdtest.FreePort(t)), "--etcd-endpoints", e.Endpoint(), "--disable-agent").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another cluster's identity") {
		t.Fatalf("a server without the token: %v\n%s", err, out)
	}
	b := newServer("--token", strings.TrimSpace(string(token)))
	// One identity: the CA, the admin credential and the join token are the first
	// server's, so each server's kubeconfig works against the other.
	for _, f := range []string{"tls/ca.crt", "tls/admin.token", "token", "tls/service-account.key"} {
		x, _ := os.ReadFile(filepath.Join(a.dataDir, f))
		y, _ := os.ReadFile(filepath.Join(b.dataDir, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between the servers", f)
		}
	}
	if _, _, err := b.kubectl("--server", fmt.Sprintf("https://127.0.0.1:%d", a.port), "get", "namespace", "default"); err != nil {
		t.Fatalf("the second server's kubeconfig against the first: %v", err)
	}
	if h := holder(b, "kube-controller-manager"); h != identity(a) {
		t.Fatalf("with two servers the lease went to %q", h)
	}
	// The leader dies without a word.
	_ = a.cmd.Process.Kill()
	<-a.exited
	a.cmd = nil
	poll(t, "the second server to take the leases over", 40*time.Second, func() bool {
		return holder(b, "kube-controller-manager") == identity(b) && holder(b, "kube-scheduler") == identity(b)
	})
	// Its controllers work: a new namespace gets its default ServiceAccount.
	b.mustKubectl("create", "namespace", "after-failover")
	waitUntil(t, "the default ServiceAccount of a namespace made after the failover", func() bool {
		_, _, err := b.kubectl("get", "serviceaccount", "default", "-n", "after-failover")
		return err == nil
	})
}
