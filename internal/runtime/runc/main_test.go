package runc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Set by TestMain for the integration tests.
var (
	shimBinary   string // podium-shim built from this tree
	busyboxRoot  string // a rootfs of Debian's static busybox
	cgroupParent string // unique per test run
	prereqErr    error  // what the host lacks for the integration tests
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "podium-runc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	cgroupParent = "/podium-test-" + randomHex(4)
	prereqErr = setupIntegration(tmp)
	code := m.Run()
	if hs, _, err := cgroupHierarchies(); err == nil {
		removeCgroup(hs, cgroupParent, true)
	}
	return code
}

func setupIntegration(tmp string) error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	shimBinary = filepath.Join(tmp, "podium-shim")
	build := exec.Command("go", "build", "-o", shimBinary, "./cmd/podium-shim")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if os.Getenv("PODIUM_SHIM_RACE") != "" {
		// With GORACE=log_path=..., the shims' race reports land in files.
		build.Args = []string{"go", "build", "-race", "-o", shimBinary, "./cmd/podium-shim"}
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building podium-shim: %v: %s", err, out)
	}
	if err := CheckPrerequisites(Config{StateDir: tmp, ShimBinary: shimBinary}); err != nil {
		return err
	}
	busyboxRoot = filepath.Join(tmp, "busybox-rootfs")
	return makeBusyboxRootfs(busyboxRoot)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// makeBusyboxRootfs makes a rootfs of Debian's busybox-static: /bin/busybox, a
// symlink for each applet, and /etc/passwd and /etc/group.
func makeBusyboxRootfs(root string) error {
	const bb = "/bin/busybox"
	out, err := exec.Command("file", "-L", bb).Output()
	if err == nil && !strings.Contains(string(out), "statically linked") {
		return fmt.Errorf("%s is not statically linked: install busybox-static", bb)
	}
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/app", "www"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	data, err := os.ReadFile(bb)
	if err != nil {
		return fmt.Errorf("busybox-static is needed (apt-get install busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requireIntegration skips the test when the host lacks a prerequisite, or fails it
// under CI=true.
func requireIntegration(t *testing.T) {
	t.Helper()
	if prereqErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("integration prerequisites missing: %v", prereqErr)
	}
	t.Skipf("integration prerequisites missing: %v", prereqErr)
}

// testEnv is a Runtime on a fresh state directory with fake images and network.
type testEnv struct {
	t        *testing.T
	cfg      Config
	r        *Runtime
	images   *fakeImages
	net      *fakeNetwork
	stateDir string
	logDir   string
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	requireIntegration(t)
	dir := t.TempDir()
	images := newFakeImages(filepath.Join(dir, "snapshots"))
	images.add("busybox", busyboxRoot, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/bin", "FROM_IMAGE=yes"},
	})
	e := &testEnv{
		t:        t,
		images:   images,
		net:      newFakeNetwork(),
		stateDir: filepath.Join(dir, "state"),
		logDir:   filepath.Join(dir, "logs"),
	}
	e.cfg = Config{
		StateDir:     e.stateDir,
		ShimBinary:   shimBinary,
		CgroupParent: cgroupParent,
		Images:       images,
		Network:      e.net,
	}
	r, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.r = r
	t.Cleanup(e.forceClean)
	return e
}

// forceClean removes whatever a test left, even when it failed half-way: sandboxes
// through the runtime, then by hand the shims (by pid), containers, mounts and cgroups
// it still finds.
func (e *testEnv) forceClean() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := New(e.cfg)
	if err != nil {
		e.t.Logf("cleanup: %v", err)
		r = e.r
	}
	sbs, _ := r.ListPodSandbox(ctx, nil)
	for _, sb := range sbs {
		if err := r.RemovePodSandbox(ctx, sb.Id); err != nil {
			e.t.Logf("cleanup: removing sandbox %s: %v", sb.Id, err)
		}
	}
	r.mu.Lock()
	for _, sb := range r.sandboxes {
		meta := sb.snapshot()
		if processAlive(meta.ShimPid, meta.ShimStart) {
			syscallKill(meta.ShimPid)
		}
	}
	r.mu.Unlock()
	if out, err := exec.Command("runc", "--root", r.cfg.RuncRoot, "list", "-q").Output(); err == nil {
		for _, id := range strings.Fields(string(out)) {
			exec.Command("runc", "--root", r.cfg.RuncRoot, "delete", "--force", id).Run()
		}
	}
	unmountAll(e.stateDir)
	unmountAll(filepath.Dir(e.stateDir))
}

func podConfig(name string) *runtimeapi.PodSandboxConfig {
	uid := randomHex(8)
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid},
		Hostname: name,
		DnsConfig: &runtimeapi.DNSConfig{
			Servers:  []string{"10.96.0.10"},
			Searches: []string{"default.svc.cluster.local"},
			Options:  []string{"ndots:5"},
		},
		Labels: map[string]string{"app": name},
	}
}

func (e *testEnv) runPod(name string) (string, *runtimeapi.PodSandboxConfig) {
	e.t.Helper()
	cfg := podConfig(name)
	cfg.LogDirectory = filepath.Join(e.logDir, "default_"+name+"_"+cfg.Metadata.Uid)
	id, err := e.r.RunPodSandbox(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, cfg
}

func containerConfig(name string, cmd ...string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: "busybox"},
		Command:  cmd,
		LogPath:  name + "/0.log",
	}
}

// start creates and starts a container.
func (e *testEnv) start(sandboxID string, sandbox *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	e.t.Helper()
	ctx := context.Background()
	id, err := e.r.CreateContainer(ctx, sandboxID, cfg, sandbox)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.r.StartContainer(ctx, id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// waitState polls until the container is in state, and returns its status.
func waitState(t *testing.T, r *Runtime, id string, state runtimeapi.ContainerState, timeout time.Duration) *runtimeapi.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := r.ContainerStatus(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s is %s after %v, want %s", id, st.State, timeout, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sandboxFacts is what assertRemoved checks is gone.
type sandboxFacts struct {
	id        string
	dir       string
	cgroup    string
	shimPid   int
	shimStart uint64
}

func (e *testEnv) facts(sandboxID string) sandboxFacts {
	e.t.Helper()
	sb, err := e.r.getSandbox(sandboxID)
	if err != nil {
		e.t.Fatal(err)
	}
	meta := sb.snapshot()
	return sandboxFacts{id: sandboxID, dir: sb.dir, cgroup: meta.CgroupParent, shimPid: meta.ShimPid, shimStart: meta.ShimStart}
}

// assertRemoved checks that a removed sandbox left nothing on the host: no mounts
// under the state directory, no namespace pins, no cgroups, no shim, no runc state,
// no snapshots.
func (e *testEnv) assertRemoved(f sandboxFacts) {
	e.t.Helper()
	mounts, err := readMountinfo()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range mounts {
		if strings.Contains(m.Point, e.stateDir) {
			e.t.Errorf("mount left behind: %s (%s)", m.Point, m.FSType)
		}
	}
	if _, err := os.Stat(f.dir); !errors.Is(err, os.ErrNotExist) {
		e.t.Errorf("sandbox directory %s left behind (err %v)", f.dir, err)
	}
	hs, _, err := cgroupHierarchies()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range hs {
		if _, err := os.Stat(filepath.Join(h, f.cgroup)); err == nil {
			e.t.Errorf("cgroup left behind: %s", filepath.Join(h, f.cgroup))
		}
	}
	waitFor(e.t, "the shim to exit", 5*time.Second, func() bool { return !processAlive(f.shimPid, f.shimStart) })
	out, err := exec.Command("runc", "--root", e.r.cfg.RuncRoot, "list", "-q").Output()
	if err != nil {
		e.t.Errorf("runc list: %v", err)
	} else if s := strings.TrimSpace(string(out)); s != "" {
		e.t.Errorf("runc still knows containers: %s", s)
	}
	if n := e.images.snapshotCount(); n != 0 {
		e.t.Errorf("%d snapshots left", n)
	}
	if e.net.isAttached(f.id) {
		e.t.Errorf("network still attached")
	}
}
