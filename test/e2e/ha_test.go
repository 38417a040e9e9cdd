package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/leader"
	"github.com/podium/podium/test/images"
)

// haServer is one server of TestSeveralServers, on a host (network namespace) of its own.
type haServer struct {
	*cluster
	host, ip string
}

func (s *haServer) identity(t *testing.T) string {
	id, err := leader.Identity(s.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// etcdMembers lists the embedded etcd's members through s's own member.
func (s *haServer) etcdMembers(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net=/run/netns/"+s.host, filepath.Join(s.bin, "podium"), "etcd-member", "ls", "--data-dir", s.dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("etcd-member ls: %v: %s", err, out)
	}
	return string(out)
}

// TestSeveralServers runs three servers on embedded etcd, each on a host of its own,
// and an agent on a fourth. A client writes through every server while the server that
// holds the scheduler's lease is killed: pods are scheduled again within 15 s, no
// acknowledged write is lost and the agent's node stays Ready. Then one server is cut
// off the network (it can no longer write; the others can, and it catches up once it
// is back), a fourth server joins and one is removed.
func TestSeveralServers(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	bridgeIP, hosts := testHosts(t, 5)
	hostIP := func(i int) string { return fmt.Sprintf("%s.%d", hostsPrefix, 11+i) }
	bin := binDir(t)
	var servers []*haServer
	newServer := func(i int, extra ...string) *haServer {
		s := &haServer{host: hosts[i], ip: hostIP(i), cluster: &cluster{t: t, bin: bin, dataDir: t.TempDir(), port: 6443, netns: hosts[i],
			extraArgs: append([]string{"--bind-address", hostIP(i), "--advertise-address", hostIP(i), "--cluster-cidr", multiNodeCIDR}, extra...)}}
		s.kubeconfig = filepath.Join(s.dataDir, "kubeconfig.yaml")
		s.start()
		t.Cleanup(s.stop)
		return s
	}
	first := newServer(0, "--cluster-init")
	tokenOut, err := exec.Command(filepath.Join(bin, "podium"), "server", "token", "--data-dir", first.dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenOut))
	servers = append(servers, first)
	for i := 1; i < 3; i++ {
		servers = append(servers, newServer(i, "--server", fmt.Sprintf("https://%s:6443", first.ip), "--token", token))
	}
	if members := first.etcdMembers(t); strings.Count(members, "https://") != 3 {
		t.Fatalf("etcd members:\n%s", members)
	}
	cs := first.client()
	// The kubernetes Service lists every server.
	waitFor(t, sliceOf(cs, "default", "kubernetes"), "the kubernetes endpoints listing the three servers", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 3
	})

	// One agent, given the first server.
	imgs, err := images.Seed("../..")
	if err != nil {
		t.Fatal(err)
	}
	registryHost, stopRegistry, err := images.ServeOn(bridgeIP+":0", imgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopRegistry)
	agentDir := t.TempDir()
	if err := images.WriteMirror(agentDir, registryHost); err != nil {
		t.Fatal(err)
	}
	agent := exec.Command("nsenter", "--net=/run/netns/"+hosts[3], filepath.Join(bin, "podium"), "agent",
		"--server", fmt.Sprintf("https://%s:6443", first.ip), "--token", token, "--node-name", "worker",
		"--data-dir", agentDir, "--pod-log-dir", t.TempDir(), "--cluster-cidr", multiNodeCIDR, "--agent-port", fmt.Sprint(etcdtest.FreePort(t)))
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	var alive *haServer // a server that lives to the end, for the clean-up
	t.Cleanup(func() {
		if alive != nil {
			if _, errOut, err := alive.kubectl("delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s"); err != nil {
				t.Errorf("deleting pods: %v %s", err, errOut)
			}
		}
		_ = agent.Process.Signal(syscall.SIGTERM)
		_ = agent.Wait()
	})
	nodeReady := func(n *corev1.Node) *corev1.NodeCondition {
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				return &n.Status.Conditions[i]
			}
		}
		return nil
	}
	waitFor(t, one(cs, "nodes", "", "worker"), "the agent's node Ready", func(n *corev1.Node, ok bool) bool {
		return ok && nodeReady(n) != nil && nodeReady(n).Status == corev1.ConditionTrue
	})

	// A client writes through every server, round robin, and keeps what was acknowledged.
	clients := make([]kubernetes.Interface, len(servers))
	for i, s := range servers {
		cfg := s.restConfig()
		cfg.Timeout = 5 * time.Second
		clients[i] = kubernetes.NewForConfigOrDie(cfg)
	}
	var mu sync.Mutex
	var acked []string
	stopWriting := make(chan struct{})
	writing := sync.WaitGroup{}
	writing.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stopWriting:
				return
			default:
			}
			name := fmt.Sprintf("w-%d", n)
			_, err := clients[n%len(clients)].CoreV1().ConfigMaps("default").Create(context.Background(),
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err == nil {
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		}
	})

	// Kill the server that holds the scheduler's lease.
	holder := func(c kubernetes.Interface, lease string) string {
		l, err := c.CoordinationV1().Leases("kube-system").Get(context.Background(), lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	leaderAt := slices.IndexFunc(servers, func(s *haServer) bool { return s.identity(t) == holder(cs, "kube-scheduler") })
	if leaderAt < 0 {
		t.Fatalf("no server holds the scheduler's lease (%q)", holder(cs, "kube-scheduler"))
	}
	killed := servers[leaderAt]
	others := slices.Delete(slices.Clone(servers), leaderAt, leaderAt+1)
	alive = others[0]
	survivor := alive.client()
	time.Sleep(2 * time.Second) // writes before the kill
	_ = killed.cmd.Process.Kill()
	<-killed.exited
	killed.cmd = nil
	killedAt := time.Now()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "after-kill"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	poll(t, "a pod created after the kill", 15*time.Second, func() bool {
		_, err := survivor.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{})
		return err == nil
	})
	waitFor(t, one(survivor, "pods", "default", "after-kill"), "the pod scheduled", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Spec.NodeName != ""
	})
	if took := time.Since(killedAt); took > 15*time.Second {
		t.Errorf("pods were scheduled again %v after the leader died, want within 15 s", took)
	} else {
		t.Logf("a pod was scheduled %v after the leader died", took.Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second) // writes after the kill
	close(stopWriting)
	writing.Wait()
	stored, err := survivor.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, cm := range stored.Items {
		have[cm.Name] = true
	}
	for _, name := range acked {
		if !have[name] {
			t.Errorf("acknowledged write %s lost", name)
		}
	}
	t.Logf("%d writes acknowledged through three servers, none lost", len(acked))
	n, err := survivor.CoreV1().Nodes().Get(context.Background(), "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := nodeReady(n); c == nil || c.Status != corev1.ConditionTrue || c.LastTransitionTime.After(killedAt) {
		t.Errorf("the agent's node after the kill: %+v", c)
	}

	// The killed server comes back with its data and is a member again.
	killed.start()
	waitFor(t, sliceOf(survivor, "default", "kubernetes"), "the kubernetes endpoints listing the three servers again", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		return ok && readyEndpoints(sl) == 3
	})

	// A partition: one server cut off the others cannot write; they can; it catches up.
	// The server cut off is one that leads nothing: one that holds a Lease it cannot
	// renew ends, as upstream's components do, for its supervisor to restart it.
	leaders := []string{holder(survivor, "kube-scheduler"), holder(survivor, "kube-controller-manager")}
	cutAt := slices.IndexFunc(servers, func(s *haServer) bool { return !slices.Contains(leaders, s.identity(t)) })
	if cutAt < 0 {
		t.Fatalf("every server leads something: %v", leaders)
	}
	cut := servers[cutAt]
	if cut == alive {
		alive = servers[(cutAt+1)%len(servers)]
		survivor = alive.client()
	}
	linkOf := func(s *haServer) string {
		i := slices.Index(hosts, s.host)
		return fmt.Sprintf("ph%s%d", strings.TrimSuffix(strings.TrimPrefix(s.host, "podh"), fmt.Sprintf("-%d", i+1)), i+1)
	}
	if out, err := exec.Command("ip", "link", "set", linkOf(cut), "down").CombinedOutput(); err != nil {
		t.Fatalf("cutting %s off: %v: %s", cut.host, err, out)
	}
	cutCfg := cut.restConfig()
	cutCfg.Timeout = 10 * time.Second
	cutClient := kubernetes.NewForConfigOrDie(cutCfg)
	// The test reaches the cut-off server through a path of its own: the API listens on
	// the host's address, which the root namespace reaches only over the link that is
	// down. So the refusal is seen from inside its namespace.
	out, err := exec.Command("nsenter", "--net=/run/netns/"+cut.host, filepath.Join(bin, "podium"), "kubectl",
		"--kubeconfig", cut.kubeconfig, "--request-timeout=10s", "create", "configmap", "during-partition-cut").CombinedOutput()
	if err == nil {
		t.Errorf("a write through the server cut off succeeded: %s", out)
	}
	if _, err := survivor.CoreV1().ConfigMaps("default").Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "during-partition"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("a write through a server of the majority: %v", err)
	}
	if out, err := exec.Command("ip", "link", "set", linkOf(cut), "up").CombinedOutput(); err != nil {
		t.Fatalf("healing: %v: %s", err, out)
	}
	poll(t, "the server cut off to catch up", 30*time.Second, func() bool {
		_, err := cutClient.CoreV1().ConfigMaps("default").Get(context.Background(), "during-partition", metav1.GetOptions{})
		return err == nil
	})

	// A fourth server joins; then one is taken out.
	fourth := newServer(4, "--server", fmt.Sprintf("https://%s:6443", others[0].ip), "--token", token)
	if members := fourth.etcdMembers(t); strings.Count(members, "https://") != 4 {
		t.Fatalf("etcd members after a join:\n%s", members)
	}
	gone := cut
	gone.stop()
	gone.cmd = nil
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+fourth.host, filepath.Join(bin, "podium"), "etcd-member", "remove",
		gone.identity(t), "--data-dir", fourth.dataDir).CombinedOutput(); err != nil {
		t.Fatalf("etcd-member remove: %v: %s", err, out)
	}
	if members := fourth.etcdMembers(t); strings.Count(members, "https://") != 3 || strings.Contains(members, gone.identity(t)) {
		t.Fatalf("etcd members after a removal:\n%s", members)
	}
	waitFor(t, sliceOf(survivor, "default", "kubernetes"), "the kubernetes endpoints without the removed server", func(sl *discoveryv1.EndpointSlice, ok bool) bool {
		if !ok || readyEndpoints(sl) != 3 {
			return false
		}
		for _, e := range sl.Endpoints {
			if slices.Contains(e.Addresses, gone.ip) {
				return false
			}
		}
		return true
	})
}
