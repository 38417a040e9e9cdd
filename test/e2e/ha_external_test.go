package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// buildEtcd builds etcd's own server (the etcd module podium uses, v3.7.3) into dir.
func buildEtcd(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "etcd")
	cmd := exec.Command("go", "build", "-o", out, "go.etcd.io/etcd/server/v3")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building etcd: %v: %s", err, b)
	}
	return out
}

// TestSeveralServersExternalEtcd runs three servers on an external etcd cluster of three
// members (etcd's own server, built by the test), a member and a server on each host:
// the servers share one identity, and when the server holding the scheduler's lease is
// killed, pods are scheduled again within 15 s and no acknowledged write is lost.
func TestSeveralServersExternalEtcd(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	etcdBin := buildEtcd(t)
	_, hosts := testHosts(t, 3)
	ip := func(i int) string { return fmt.Sprintf("%s.%d", hostsPrefix, 11+i) }
	var initial, endpoints []string
	for i := range hosts {
		initial = append(initial, fmt.Sprintf("m%d=http://%s:2380", i, ip(i)))
		endpoints = append(endpoints, fmt.Sprintf("http://%s:2379", ip(i)))
	}
	for i, host := range hosts {
		m := exec.Command("nsenter", "--net=/run/netns/"+host, etcdBin, "--name", fmt.Sprintf("m%d", i), "--data-dir", t.TempDir(),
			"--listen-client-urls", fmt.Sprintf("http://%s:2379", ip(i)), "--advertise-client-urls", fmt.Sprintf("http://%s:2379", ip(i)),
			"--listen-peer-urls", fmt.Sprintf("http://%s:2380", ip(i)), "--initial-advertise-peer-urls", fmt.Sprintf("http://%s:2380", ip(i)),
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new", "--log-level", "error")
		if err := m.Start(); err != nil { // its log (stderr) is left out: it reports peers going as errors
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = m.Process.Signal(syscall.SIGTERM)
			_ = m.Wait()
		})
	}
	bin := binDir(t)
	var servers []*haServer
	token := ""
	for i, host := range hosts {
		args := []string{"--bind-address", ip(i), "--advertise-address", ip(i), "--etcd-endpoints", strings.Join(endpoints, ",")}
		if token != "" {
			args = append(args, "--token", token)
		}
		s := &haServer{host: host, ip: ip(i), cluster: &cluster{t: t, bin: bin, dataDir: t.TempDir(), port: 6443, netns: host, extraArgs: args}}
		s.kubeconfig = filepath.Join(s.dataDir, "kubeconfig.yaml")
		s.start()
		t.Cleanup(s.stop)
		servers = append(servers, s)
		if token == "" {
			out, err := exec.Command(filepath.Join(bin, "podium"), "server", "token", "--data-dir", s.dataDir).Output()
			if err != nil {
				t.Fatal(err)
			}
			token = strings.TrimSpace(string(out))
		}
	}
	// One identity: the first server's kubeconfig works against the last.
	if _, _, err := servers[0].kubectl("--server", fmt.Sprintf("https://%s:6443", servers[2].ip), "get", "namespace", "default"); err != nil {
		t.Fatalf("the first server's kubeconfig against the third: %v", err)
	}
	cs := servers[0].client()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fake"}, Status: corev1.NodeStatus{
		Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}, Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}}}
	if _, err := cs.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(context.Background(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var holder string
	waitUntil(t, "a server to hold the scheduler's lease", func() bool {
		l, err := cs.CoordinationV1().Leases("kube-system").Get(context.Background(), "kube-scheduler", metav1.GetOptions{})
		if err == nil && l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return holder != ""
	})
	at := slices.IndexFunc(servers, func(s *haServer) bool { return s.identity(t) == holder })
	if at < 0 {
		t.Fatalf("no server holds the scheduler's lease (%q)", holder)
	}
	survivor := servers[(at+1)%len(servers)]
	sc := survivor.client()
	before, err := sc.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before-kill"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = servers[at].cmd.Process.Kill()
	<-servers[at].exited
	servers[at].cmd = nil
	killed := time.Now()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "after-kill"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
	if _, err := sc.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, one(sc, "pods", "default", "after-kill"), "the pod scheduled", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Spec.NodeName != ""
	})
	if took := time.Since(killed); took > 15*time.Second {
		t.Errorf("pods were scheduled again %v after the leader died, want within 15 s", took)
	} else {
		t.Logf("a pod was scheduled %v after the leader died", took.Round(time.Millisecond))
	}
	third := servers[(at+2)%len(servers)].client()
	if got, err := third.CoreV1().ConfigMaps("default").Get(context.Background(), "before-kill", metav1.GetOptions{}); err != nil || got.UID != before.UID {
		t.Fatalf("the write before the kill, through another server: %v", err)
	}
}
