package e2e

import (
	"context"
	"fmt"
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
	"k8s.io/client-go/tools/cache"

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
	writes, running := newProgress(), newProgress()
	var churn sync.WaitGroup
	churn.Go(func() { // the writer
		for i := 0; ctx.Err() == nil; i++ {
			name := fmt.Sprintf("w-%d", i)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": strconv.Itoa(i)}}
			// A create the kill cut off may have been stored without its reply reaching
			// us: the retry then finds it there, which acknowledges it as well.
			if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				i-- // the server is away: the same name again, a moment later
				pause(ctx)
				continue
			}
			mu.Lock()
			acked = append(acked, name)
			mu.Unlock()
			writes.add()
		}
	})
	// Pods come and go: each sleeps a time of its own, so that its process can be told
	// from the others'; the one three before it is deleted. A pod lives about three
	// pods' time, so the test waits for the churn's progress, not for a pod by name.
	churn.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := cs.CoreV1().Pods("default").Create(ctx, sleeper(i), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				i--
				pause(ctx)
				continue
			}
			if i >= 3 {
				grace := int64(1)
				_ = cs.CoreV1().Pods("default").Delete(ctx, fmt.Sprintf("churn-%d", i-3), metav1.DeleteOptions{GracePeriodSeconds: &grace})
			}
			waitPodRunning(ctx, cs, fmt.Sprintf("churn-%d", i))
			running.add()
		}
	})
	writes.wait(t, 20, "acknowledged writes")
	running.wait(t, 3, "churned pods running")

	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
	c.start()
	// The writer and the churn go on against the new server.
	writes.wait(t, 20, "acknowledged writes after the restart")
	running.wait(t, 3, "churned pods running after the restart")
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

// progress counts what a background loop got done; wait lets the test block until n
// more are done, failing when they have not come within 30s.
type progress struct {
	mu   sync.Mutex
	n    int
	more chan struct{} // a value when n grew since the last look
}

func newProgress() *progress { return &progress{more: make(chan struct{}, 1)} }

func (p *progress) add() {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	select {
	case p.more <- struct{}{}:
	default:
	}
}

func (p *progress) wait(t *testing.T, n int, what string) {
	t.Helper()
	p.mu.Lock()
	target := p.n + n
	p.mu.Unlock()
	timeout := time.After(30 * time.Second)
	for {
		p.mu.Lock()
		have := p.n
		p.mu.Unlock()
		if have >= target {
			return
		}
		select {
		case <-p.more:
		case <-timeout:
			t.Fatalf("%s: %d more wanted, %d came in 30s", what, n, n-(target-have))
		}
	}
}
