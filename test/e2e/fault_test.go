package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/etcd/etcdtest"
)

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
	filler.Close()
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
