package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/nodeclean"
)

// TestKillNineUnderChurn: while a writer creates ConfigMaps and pods come and go, the
// server (with its agent) is killed with SIGKILL and started again, then a pod's shim is
// killed. Afterwards every acknowledged write is there, no pod's container runs twice,
// the pod whose shim died runs again after SandboxChanged, and once the pods are deleted
// nothing of them is left on the host: no process, mount or veth.
func TestKillNineUnderChurn(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var acked []string
	progress := make(chan struct{}, 1)
	var churn sync.WaitGroup
	churn.Go(func() { // the writer
		for i := 0; ctx.Err() == nil; i++ {
			name := fmt.Sprintf("w-%d", i)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": strconv.Itoa(i)}}
			if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				i-- // the server is away: the same name again, a moment later
				pause(ctx)
				continue
			}
			mu.Lock()
			acked = append(acked, name)
			mu.Unlock()
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	})
	// Pods come and go: each sleeps a time of its own, so that its process can be told
	// from the others'; the one three before it is deleted.
	churn.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := cs.CoreV1().Pods("default").Create(ctx, sleeper(i), metav1.CreateOptions{}); err != nil {
				i--
				pause(ctx)
				continue
			}
			if i >= 3 {
				grace := int64(1)
				_ = cs.CoreV1().Pods("default").Delete(ctx, fmt.Sprintf("churn-%d", i-3), metav1.DeleteOptions{GracePeriodSeconds: &grace})
			}
			waitPodRunning(ctx, cs, fmt.Sprintf("churn-%d", i))
		}
	})
	waitWrites := func(n int) {
		t.Helper()
		mu.Lock()
		target := len(acked) + n
		mu.Unlock()
		for {
			mu.Lock()
			done := len(acked) >= target
			mu.Unlock()
			if done {
				return
			}
			<-progress
		}
	}
	waitWrites(20)
	c.waitRunning("churn-2")

	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
	c.start()
	waitWrites(20) // the writer goes on against the new server
	c.waitRunning("churn-6")
	cancel()
	churn.Wait()

	// Every acknowledged write survived.
	list, err := cs.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, cm := range list.Items {
		have[cm.Name] = true
	}
	for _, name := range acked {
		if !have[name] {
			t.Errorf("acknowledged write %s lost", name)
		}
	}

	// A shim dies: its pod says SandboxChanged and runs again.
	shims := processes(func(cmdline []string) bool {
		return len(cmdline) > 0 && filepath.Base(cmdline[0]) == "podium-shim" && strings.Contains(strings.Join(cmdline, " "), c.dataDir)
	})
	if len(shims) == 0 {
		t.Fatal("no shim of this cluster runs")
	}
	if err := syscall.Kill(shims[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	changed := fields.SelectorFromSet(fields.Set{"reason": "SandboxChanged"})
	var victim string
	waitFor(t, cache.NewListWatchFromClient(cs.CoreV1().RESTClient(), "events", "default", changed), "a SandboxChanged event",
		func(e *corev1.Event, ok bool) bool {
			if ok {
				victim = e.InvolvedObject.Name
			}
			return ok
		})
	waitFor(t, one(cs, "pods", "default", victim), victim+" running again in a new sandbox", func(p *corev1.Pod, ok bool) bool {
		return ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil &&
			p.Status.ContainerStatuses[0].RestartCount >= 1
	})

	// No container runs twice: each pod left has exactly one process of its own.
	pods, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		want := p.Spec.Containers[0].Command
		if n := len(processes(func(cmdline []string) bool { return slices.Equal(cmdline, want) })); n != 1 {
			t.Errorf("pod %s: %d processes of %q, want 1", p.Name, n, want)
		}
	}

	// Deleted, the pods leave nothing behind.
	if _, errOut, err := c.kubectl("delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s"); err != nil {
		t.Fatalf("deleting the pods: %v %s", err, errOut)
	}
	if left := processes(func(cmdline []string) bool {
		return len(cmdline) == 2 && cmdline[0] == "sleep" && strings.HasPrefix(cmdline[1], "36")
	}); len(left) != 0 {
		t.Errorf("processes of deleted pods still run: %v", left)
	}
	for _, m := range nodeclean.Mounts(c.dataDir) {
		if strings.Contains(m, string(filepath.Separator)+"pods"+string(filepath.Separator)) || strings.Contains(m, "sandboxes") {
			t.Errorf("mount left of a deleted pod: %s", m)
		}
	}
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", "cni0").CombinedOutput(); strings.Contains(string(out), "veth") {
		t.Errorf("veths left on cni0:\n%s", out)
	}
}

// sleeper is the churn's pod i: a sleep whose length, 3600+i seconds, marks its process.
func sleeper(i int) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("churn-%d", i)}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		Containers:                    []corev1.Container{{Name: "app", Image: "busybox", Command: []string{"sleep", strconv.Itoa(3600 + i)}}}}}
}

// processes returns the PIDs of the host's processes whose command line match says yes
// to.
func processes(match func(cmdline []string) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || len(data) == 0 {
			continue
		}
		if match(strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// waitPodRunning waits, without failing the test (it runs beside it), until a pod runs,
// or ctx ends. A watch would end with the server the test kills; this asks again.
func waitPodRunning(ctx context.Context, cs kubernetes.Interface, name string) {
	for ctx.Err() == nil {
		if p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err == nil && p.Status.Phase == corev1.PodRunning {
			return
		}
		pause(ctx)
	}
}

// pause waits a tenth of a second, less if ctx ends.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
}

// TestFullDisk: with the file system of the data directory nearly full, writes get a
// clear 507 while reads go on and the server keeps running; once space is freed, writes
// succeed again.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (a tmpfs of its own)")
		}
		t.Skip("needs root (a tmpfs of its own)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=512m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) }) // after the server stops
	c := &cluster{t: t, bin: binDir(t), dataDir: filepath.Join(dir, "data"),
		port: etcdtest.FreePort(t), etcdPort: etcdtest.FreePort(t), peerPort: etcdtest.FreePort(t)}
	c.kubeconfig = filepath.Join(c.dataDir, "kubeconfig.yaml")
	c.start()
	t.Cleanup(c.stop)
	cms := c.client().CoreV1().ConfigMaps("default")
	create := func(name string) error {
		_, err := cms.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		return err
	}
	if err := create("before"); err != nil {
		t.Fatal(err)
	}

	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	if err := syscall.Fallocate(int(filler.Fd()), 0, 0, int64(st.Bavail*uint64(st.Bsize))-64<<20); err != nil {
		t.Fatal(err)
	}
	var refused error
	for i := 0; ; i++ { // the server reads the free space once a second
		if refused = create(fmt.Sprintf("during-%d", i)); refused != nil || i == 50 {
			break
		}
		pause(context.Background())
	}
	if st, ok := refused.(apierrors.APIStatus); !ok || st.Status().Code != http.StatusInsufficientStorage ||
		!strings.Contains(refused.Error(), "writes are refused until space is freed") {
		t.Fatalf("a write with 64 MiB free: %v, want 507", refused)
	}
	if _, err := cms.Get(context.Background(), "before", metav1.GetOptions{}); err != nil {
		t.Fatalf("a read with the disk full: %v", err)
	}
	if err := os.Remove(filler.Name()); err != nil {
		t.Fatal(err)
	}
	var again error
	for i := 0; i < 50; i++ {
		if again = create("after"); again == nil {
			break
		}
		pause(context.Background())
	}
	if again != nil {
		t.Fatalf("a write once space returned: %v", again)
	}
}
