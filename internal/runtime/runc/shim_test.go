package runc

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestShimDependencies keeps the shim small: it may link only the standard library,
// golang.org/x/sys and shimproto.
func TestShimDependencies(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "./cmd/podium-shim")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		switch {
		case !strings.Contains(first, "."): // the standard library
		case strings.HasPrefix(pkg, "golang.org/x/sys/"):
		case pkg == "github.com/podium/podium/cmd/podium-shim",
			pkg == "github.com/podium/podium/internal/runtime/runc/shimproto":
		default:
			t.Errorf("podium-shim links %s", pkg)
		}
	}
}

// TestShimFootprint reports what a pod's shim costs in memory, with one running
// container, and fails if it gets out of hand.
func TestShimFootprint(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var shims []sandboxFacts
	var runPod, create, start time.Duration
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		sid, pod := e.runPod("footprint-" + strconv.Itoa(i))
		t1 := time.Now()
		cid, err := e.r.CreateContainer(ctx, sid, containerConfig("main", "sh", "-c", "while true; do echo tick; sleep 0.05; done"), pod)
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		if err := e.r.StartContainer(ctx, cid); err != nil {
			t.Fatal(err)
		}
		runPod, create, start = runPod+t1.Sub(t0), create+t2.Sub(t1), start+time.Since(t2)
		waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
		shims = append(shims, e.facts(sid))
	}
	t.Logf("mean times: RunPodSandbox %v (fake network), CreateContainer %v, StartContainer %v",
		runPod/3, create/3, start/3)
	time.Sleep(300 * time.Millisecond)
	var pss, rss, anon int
	for _, f := range shims {
		m := smapsRollup(t, f.shimPid)
		pss += m["Pss"]
		rss += m["Rss"]
		anon += m["Anonymous"]
	}
	n := len(shims)
	t.Logf("per shim with one container: PSS %d kB, RSS %d kB, anonymous %d kB", pss/n, rss/n, anon/n)
	if fi, err := os.Stat(shimBinary); err == nil {
		t.Logf("shim binary (not stripped): %d kB", fi.Size()/1024)
	}
	if pss/n > 8<<10 && os.Getenv("PODIUM_SHIM_RACE") == "" {
		t.Errorf("a shim's PSS is %d kB", pss/n)
	}
	for _, f := range shims {
		if err := e.r.RemovePodSandbox(ctx, f.id); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range shims {
		e.assertRemoved(f)
	}
}

func smapsRollup(t *testing.T, pid int) map[string]int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			v, _ := strconv.Atoi(f[1])
			out[strings.TrimSuffix(f[0], ":")] = v
		}
	}
	return out
}
