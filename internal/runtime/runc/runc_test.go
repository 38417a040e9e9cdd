package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
)

func syscallKill(pid int) { unix.Kill(pid, unix.SIGKILL) }

// ownCapEff is this process's bounding set as /proc/PID/status shows it.
func ownCapEff() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// logLine is one line of a CRI log file.
type logLine struct {
	time   time.Time
	stream string
	tag    string
	text   string
}

func readLog(t *testing.T, path string) []logLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []logLine
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		f := strings.SplitN(l, " ", 4)
		if len(f) < 3 {
			t.Fatalf("bad log line %q", l)
		}
		ts, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			t.Fatalf("bad timestamp in %q: %v", l, err)
		}
		ll := logLine{time: ts, stream: f[1], tag: f[2]}
		if len(f) == 4 {
			ll.text = f[3]
		}
		out = append(out, ll)
	}
	return out
}

func hasLine(lines []logLine, stream, tag, text string) bool {
	for _, l := range lines {
		if l.stream == stream && l.tag == tag && l.text == text {
			return true
		}
	}
	return false
}

func TestContainerExitCodeAndLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("exit")
	facts := e.facts(sid)

	failing := e.start(sid, pod, containerConfig("failing", "sh", "-c", "echo hello; echo err >&2; exit 3"))
	st := waitState(t, e.r, failing, runtimeapi.ContainerState_CONTAINER_EXITED, 10*time.Second)
	if st.ExitCode != 3 || st.Reason != "Error" {
		t.Errorf("exit code %d reason %q, want 3 Error", st.ExitCode, st.Reason)
	}
	if st.StartedAt == 0 || st.FinishedAt < st.StartedAt || st.CreatedAt > st.StartedAt {
		t.Errorf("times created %d started %d finished %d", st.CreatedAt, st.StartedAt, st.FinishedAt)
	}
	wantLog := filepath.Join(pod.LogDirectory, "failing", "0.log")
	if st.LogPath != wantLog {
		t.Errorf("log path %q, want %q", st.LogPath, wantLog)
	}
	if st.ImageRef == "" || st.Image.GetImage() != "busybox" || st.Metadata.GetName() != "failing" {
		t.Errorf("status image %v ref %q metadata %v", st.Image, st.ImageRef, st.Metadata)
	}
	lines := readLog(t, wantLog)
	if !hasLine(lines, "stdout", "F", "hello") || !hasLine(lines, "stderr", "F", "err") {
		t.Errorf("log lines %+v lack stdout hello and stderr err", lines)
	}

	ok := e.start(sid, pod, containerConfig("ok", "sh", "-c", `printf 'full\npartial'`))
	st = waitState(t, e.r, ok, runtimeapi.ContainerState_CONTAINER_EXITED, 10*time.Second)
	if st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("exit code %d reason %q, want 0 Completed", st.ExitCode, st.Reason)
	}
	lines = readLog(t, st.LogPath)
	if !hasLine(lines, "stdout", "F", "full") || !hasLine(lines, "stdout", "P", "partial") {
		t.Errorf("log lines %+v lack F full and P partial", lines)
	}

	list, err := e.r.ListContainers(ctx, sid)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListContainers: %v, %d containers", err, len(list))
	}
	if err := e.r.RemoveContainer(ctx, failing); err != nil {
		t.Fatal(err)
	}
	if err := e.r.RemoveContainer(ctx, failing); err != nil {
		t.Errorf("removing again: %v", err)
	}
	if _, err := e.r.ContainerStatus(ctx, failing); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("status of a removed container: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(wantLog); err != nil {
		t.Errorf("the log must stay after RemoveContainer: %v", err)
	}
	if err := e.r.StopPodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.r.PodSandboxStatus(ctx, sid); st.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("stopped sandbox is %s", st.State)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Errorf("removing again: %v", err)
	}
}

func TestStopContainerGracePeriod(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("stop")
	facts := e.facts(sid)

	// sleep as PID 1 has no handler for SIGTERM, so the kernel drops it.
	stubborn := e.start(sid, pod, containerConfig("stubborn", "sleep", "1000"))
	trapping := e.start(sid, pod, containerConfig("trapping", "sh", "-c", "trap 'exit 0' TERM; touch /tmp/trapped; while true; do sleep 0.1; done"))
	waitState(t, e.r, stubborn, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
	waitState(t, e.r, trapping, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
	// The shell says when its trap is in place.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, code, err := e.r.ExecSync(ctx, trapping, []string{"test", "-f", "/tmp/trapped"}, 5); err == nil && code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the trapping shell never installed its trap")
		}
	}

	t0 := time.Now()
	if err := e.r.StopContainer(ctx, stubborn, 1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < time.Second || d > 4*time.Second {
		t.Errorf("stopping took %v, want the 1s grace period", d)
	}
	st, _ := e.r.ContainerStatus(ctx, stubborn)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 || st.Reason != "Error" {
		t.Errorf("stubborn: %s exit %d %s, want EXITED 137 Error", st.State, st.ExitCode, st.Reason)
	}

	t0 = time.Now()
	if err := e.r.StopContainer(ctx, trapping, 10); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("stopping a container that handles SIGTERM took %v", d)
	}
	st, _ = e.r.ContainerStatus(ctx, trapping)
	if st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("trapping: exit %d %s, want 0 Completed", st.ExitCode, st.Reason)
	}
	if err := e.r.StopContainer(ctx, trapping, 10); err != nil {
		t.Errorf("stopping again: %v", err)
	}

	// Containers that were created but never started: one stopped, one left as it is.
	for _, name := range []string{"stopped", "created"} {
		created, err := e.r.CreateContainer(ctx, sid, containerConfig(name, "sleep", "1000"), pod)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := e.r.ContainerStatus(ctx, created); st.State != runtimeapi.ContainerState_CONTAINER_CREATED {
			t.Errorf("%s: a created container is %s", name, st.State)
		}
		if name != "stopped" {
			continue
		}
		if err := e.r.StopContainer(ctx, created, 30); err != nil {
			t.Fatalf("stopping a created container: %v", err)
		}
		if st, _ := e.r.ContainerStatus(ctx, created); st.State != runtimeapi.ContainerState_CONTAINER_EXITED {
			t.Errorf("a created container that was stopped is %s", st.State)
		}
		if err := e.r.StartContainer(ctx, created); err == nil {
			t.Errorf("a created container that was stopped started")
		}
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

func TestPodSharesNetworkIPCAndVolume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("shared-pod")
	facts := e.facts(sid)
	vol := t.TempDir()
	mount := []*runtimeapi.Mount{{ContainerPath: "/data", HostPath: vol}}

	server := containerConfig("server", "sh", "-c",
		"echo shared > /data/a.txt; echo shm > /dev/shm/x; exec nc -ll -p 7777 -e echo hi")
	server.Mounts = mount
	e.start(sid, pod, server)

	client := containerConfig("client", "sh", "-c", `
		for i in $(seq 100); do [ -f /data/a.txt ] && [ -f /dev/shm/x ] && out=$(nc 127.0.0.1 7777) && [ -n "$out" ] && break; sleep 0.05; done
		echo "got:$out"
		echo "file:$(cat /data/a.txt)"
		echo "shm:$(cat /dev/shm/x)"
		echo "hostname:$(hostname)"
		echo "env:$HOSTNAME:$FROM_IMAGE:$FROM_CONFIG"
		cat /etc/hosts /etc/resolv.conf
		echo written > /data/b.txt`)
	client.Mounts = mount
	client.Envs = []*runtimeapi.KeyValue{{Key: "FROM_CONFIG", Value: []byte("yes")}}
	cid := e.start(sid, pod, client)
	st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 15*time.Second)
	out, _ := os.ReadFile(st.LogPath)
	status, err := e.r.PodSandboxStatus(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"stdout F got:hi\n",
		"stdout F file:shared\n",
		"stdout F shm:shm\n",
		"stdout F hostname:shared-pod\n",
		"stdout F env:shared-pod:yes:yes\n",
		"stdout F 127.0.0.1\tlocalhost\n",
		fmt.Sprintf("stdout F %s\tshared-pod\n", status.Network.Ip),
		"stdout F nameserver 10.96.0.10\n",
		"stdout F search default.svc.cluster.local\n",
		"stdout F options ndots:5\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("client log lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(vol, "b.txt")); err != nil || string(b) != "written\n" {
		t.Errorf("volume file: %q, %v", b, err)
	}
	if status.State != runtimeapi.PodSandboxState_SANDBOX_READY || status.Network.Ip == "" {
		t.Errorf("sandbox status %v", status)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

func TestResourcesAndOOM(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("resources")
	facts := e.facts(sid)

	limited := containerConfig("limited", "sleep", "1000")
	limited.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
		MemoryLimitInBytes: 64 << 20, CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000,
		Unified: map[string]string{"pids.max": "100"},
	}}
	cid := e.start(sid, pod, limited)
	waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
	cg := facts.cgroup + "/" + cid
	// Where the agent's resource stats read the pod and the container.
	if got, err := e.r.PodCgroup(sid); err != nil || got != facts.cgroup {
		t.Errorf("PodCgroup = %q, %v; want %q", got, err, facts.cgroup)
	}
	if got, err := e.r.ContainerCgroup(cid); err != nil || got != cg {
		t.Errorf("ContainerCgroup = %q, %v; want %q", got, err, cg)
	}
	if _, err := e.r.ContainerCgroup("nope"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ContainerCgroup of no container: %v", err)
	}
	checkCgroup(t, cg, "", map[string]string{
		"memory/memory.limit_in_bytes": "67108864",
		"cpu/cpu.shares":               "512",
		"cpu/cpu.cfs_quota_us":         "50000",
		"cpu/cpu.cfs_period_us":        "100000",
		"pids/pids.max":                "100",
	})

	// An in-place resize: new limits in the cgroup and in the status, same process.
	update := &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 96 << 20, CpuShares: 256, CpuQuota: 25000, CpuPeriod: 100000}
	if err := e.r.UpdateContainerResources(ctx, cid, update); err != nil {
		t.Fatalf("UpdateContainerResources: %v", err)
	}
	checkCgroup(t, cg, "after update: ", map[string]string{
		"memory/memory.limit_in_bytes": "100663296",
		"cpu/cpu.shares":               "256",
		"cpu/cpu.cfs_quota_us":         "25000",
	})
	st, err := e.r.ContainerStatus(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.GetResources().GetLinux(); got.GetMemoryLimitInBytes() != 96<<20 || got.GetCpuShares() != 256 || got.GetCpuQuota() != 25000 || st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("status after update: %v, resources %v", st.State, got)
	}

	hog := containerConfig("hog", "tail", "/dev/zero")
	hog.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 24 << 20}}
	hid := e.start(sid, pod, hog)
	st = waitState(t, e.r, hid, runtimeapi.ContainerState_CONTAINER_EXITED, 30*time.Second)
	if st.Reason != "OOMKilled" || st.ExitCode != 137 {
		t.Errorf("hog: reason %q exit %d, want OOMKilled 137", st.Reason, st.ExitCode)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

// checkCgroup compares files of cgroup v1 controllers ("cpu/cpu.shares") below the
// container cgroup cg with what they should hold.
func checkCgroup(t *testing.T, cg, when string, want map[string]string) {
	t.Helper()
	for file, value := range want {
		ctrl, name, _ := strings.Cut(file, "/")
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, cg, name))
		if err != nil || strings.TrimSpace(string(b)) != value {
			t.Errorf("%s%s: %q, %v; want %s", when, file, b, err, value)
		}
	}
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("exec")
	facts := e.facts(sid)
	cid := e.start(sid, pod, containerConfig("main", "sleep", "1000"))
	waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)

	stdout, stderr, code, err := e.r.ExecSync(ctx, cid, []string{"sh", "-c", "echo out; echo err >&2; exit 7"}, 10)
	if err != nil || string(stdout) != "out\n" || string(stderr) != "err\n" || code != 7 {
		t.Errorf("ExecSync: %q %q %d %v", stdout, stderr, code, err)
	}

	t0 := time.Now()
	_, _, _, err = e.r.ExecSync(ctx, cid, []string{"sleep", "30"}, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ExecSync past its timeout: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("ExecSync with a 1s timeout took %v", d)
	}
	ps, _, _, err := e.r.ExecSync(ctx, cid, []string{"ps", "-o", "args"}, 10)
	if err != nil || strings.Contains(string(ps), "sleep 30") {
		t.Errorf("the timed-out command still runs: %s %v", ps, err)
	}

	var out bytes.Buffer
	code, err = e.r.Exec(ctx, cid, []string{"cat"}, runtime.Streams{Stdin: strings.NewReader("piped\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped\n" {
		t.Errorf("Exec with stdin: %q %d %v", out.String(), code, err)
	}

	resize := make(chan runtime.TerminalSize, 1)
	resize <- runtime.TerminalSize{Width: 100, Height: 40}
	var tty syncBuffer
	code, err = e.r.Exec(ctx, cid, []string{"sh", "-c", "sleep 0.3; stty size; tty; exit 4"},
		runtime.Streams{Stdout: &tty, TTY: true, Resize: resize})
	if err != nil || code != 4 || !strings.Contains(tty.String(), "40 100") || !strings.Contains(tty.String(), "/dev/pts/") {
		t.Errorf("Exec with a tty: %q %d %v", tty.String(), code, err)
	}

	if _, _, _, err := e.r.ExecSync(ctx, cid, []string{"/no/such/command"}, 10); err == nil {
		t.Errorf("ExecSync of a missing command succeeded")
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestAttach(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("attach")
	facts := e.facts(sid)
	cfg := containerConfig("reader", "sh", "-c", "while read line; do echo got:$line; done; echo bye")
	cfg.Stdin, cfg.StdinOnce = true, true
	cid := e.start(sid, pod, cfg)
	waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)

	pr, pw := io.Pipe()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- e.r.Attach(ctx, cid, runtime.Streams{Stdin: pr, Stdout: &out, Stderr: &out}) }()
	pw.Write([]byte("one\n"))
	waitFor(t, "the container's echo", 5*time.Second, func() bool { return strings.Contains(out.String(), "got:one") })
	pw.Close() // the container's stdin closes, its loop ends
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Attach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Attach did not return when the container exited")
	}
	st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 5*time.Second)
	if !strings.Contains(out.String(), "bye") {
		t.Errorf("attach output %q lacks bye", out.String())
	}
	lines := readLog(t, st.LogPath)
	if !hasLine(lines, "stdout", "F", "got:one") {
		t.Errorf("log %+v lacks got:one", lines)
	}
	if err := e.r.Attach(ctx, cid, runtime.Streams{Stdout: &out}); err == nil {
		t.Errorf("attaching to an exited container succeeded")
	}

	// Without StdinOnce, stdin stays open for the next client.
	cfg = containerConfig("server", "sh", "-c", "while read line; do echo got:$line; done")
	cfg.Stdin = true
	sid2 := e.start(sid, pod, cfg)
	waitState(t, e.r, sid2, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
	for _, word := range []string{"first", "second"} {
		actx, cancel := context.WithCancel(ctx)
		var out syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- e.r.Attach(actx, sid2, runtime.Streams{Stdin: strings.NewReader(word + "\n"), Stdout: &out})
		}()
		waitFor(t, "got:"+word, 5*time.Second, func() bool { return strings.Contains(out.String(), "got:"+word) })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Attach after cancel: %v", err)
		}
	}
	if st, _ := e.r.ContainerStatus(ctx, sid2); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("the container's stdin closed with its first client: %s", st.State)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

func TestPortForward(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("portforward")
	facts := e.facts(sid)
	e.start(sid, pod, containerConfig("server", "nc", "-ll", "-p", "8080", "-e", "echo", "forwarded"))

	var got string
	waitFor(t, "a forwarded connection", 10*time.Second, func() bool {
		a, b := net.Pipe()
		defer a.Close()
		errc := make(chan error, 1)
		go func() { errc <- e.r.PortForward(ctx, sid, 8080, b) }()
		a.SetReadDeadline(time.Now().Add(2 * time.Second))
		data, _ := io.ReadAll(a)
		<-errc
		got = string(data)
		return got == "forwarded\n"
	})
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

// TestReadoption: a new Runtime on the same state directory (as after an agent
// restart) finds the sandbox and its running container, whose shim, process and log
// carried on, and can stop and remove them.
func TestReadoption(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("readopt")
	facts := e.facts(sid)
	cid := e.start(sid, pod, containerConfig("ticker", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done"))
	before := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
	logSize := func() int64 {
		fi, err := os.Stat(before.LogPath)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	waitFor(t, "log lines", 5*time.Second, func() bool { return logSize() > 0 })

	r2, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sbs, err := r2.ListPodSandbox(ctx, nil)
	if err != nil || len(sbs) != 1 || sbs[0].Id != sid || sbs[0].State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("ListPodSandbox after re-adoption: %v %v", sbs, err)
	}
	if sbs[0].Metadata.GetUid() != pod.Metadata.Uid || sbs[0].Labels["app"] != "readopt" {
		t.Errorf("re-adopted sandbox %v", sbs[0])
	}
	status, err := r2.PodSandboxStatus(ctx, sid)
	if err != nil || status.Network.GetIp() == "" {
		t.Errorf("PodSandboxStatus: %v %v", status, err)
	}
	cs, err := r2.ListContainers(ctx, "")
	if err != nil || len(cs) != 1 || cs[0].Id != cid || cs[0].State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("ListContainers after re-adoption: %v %v", cs, err)
	}
	after, err := r2.ContainerStatus(ctx, cid)
	if err != nil || after.StartedAt != before.StartedAt || after.LogPath != before.LogPath {
		t.Errorf("status after re-adoption %v, before %v (%v)", after, before, err)
	}
	size := logSize()
	waitFor(t, "the log to grow", 5*time.Second, func() bool { return logSize() > size })
	stdout, _, code, err := r2.ExecSync(ctx, cid, []string{"echo", "still here"}, 10)
	if err != nil || code != 0 || string(stdout) != "still here\n" {
		t.Errorf("ExecSync after re-adoption: %q %d %v", stdout, code, err)
	}
	if s := e.facts(sid); s.shimPid != facts.shimPid {
		t.Errorf("the shim changed: %d, was %d", s.shimPid, facts.shimPid)
	}
	if err := r2.StopContainer(ctx, cid, 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := r2.ContainerStatus(ctx, cid); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 137 {
		t.Errorf("after stop: %s %d", st.State, st.ExitCode)
	}
	e.r = r2
	if err := r2.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

// TestShimKilled: when a pod's shim dies, the sandbox is not ready; its containers
// run on (a PID 1 ignores the SIGPIPE of writing to its dead log pipe, another process
// dies of it), exec still works, and removing the sandbox cleans everything up with
// runc directly.
func TestShimKilled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("shimkilled")
	facts := e.facts(sid)
	quiet := e.start(sid, pod, containerConfig("quiet", "sleep", "1000"))
	noisy := e.start(sid, pod, containerConfig("noisy", "sh", "-c", "while true; do echo x || touch /tmp/epipe; sleep 0.05; done"))
	waitState(t, e.r, quiet, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)
	waitState(t, e.r, noisy, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)

	if err := unix.Kill(facts.shimPid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the shim to die", 5*time.Second, func() bool { return !processAlive(facts.shimPid, facts.shimStart) })
	st, err := e.r.PodSandboxStatus(ctx, sid)
	if err != nil || st.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("sandbox with a dead shim: %v %v", st, err)
	}
	waitFor(t, "a failed write to stdout", 5*time.Second, func() bool {
		out, _, _, err := e.r.ExecSync(ctx, noisy, []string{"ls", "/tmp"}, 10)
		return err == nil && strings.Contains(string(out), "epipe")
	})
	for _, id := range []string{quiet, noisy} {
		if st, _ := e.r.ContainerStatus(ctx, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			t.Errorf("container %s: %s, want RUNNING", id, st.State)
		}
	}
	if _, err := e.r.CreateContainer(ctx, sid, containerConfig("late", "true"), pod); err == nil {
		t.Errorf("creating a container in a sandbox without a shim succeeded")
	}
	if err := e.r.StopContainer(ctx, quiet, 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.r.ContainerStatus(ctx, quiet); st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.ExitCode != 255 || !strings.Contains(st.Message, "shim") {
		t.Errorf("container stopped without its shim: %s exit %d %q", st.State, st.ExitCode, st.Message)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

func TestTTYContainer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("tty")
	facts := e.facts(sid)
	cfg := containerConfig("term", "sh", "-c", `while read x; do s=$(stty size); echo "size:$s"; [ "$s" = "50 120" ] && break; done; tty; echo done`)
	cfg.Tty, cfg.Stdin = true, true
	cid := e.start(sid, pod, cfg)
	waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_RUNNING, 5*time.Second)

	pr, pw := io.Pipe()
	defer pw.Close()
	resize := make(chan runtime.TerminalSize, 1)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- e.r.Attach(ctx, cid, runtime.Streams{Stdin: pr, Stdout: &out, TTY: true, Resize: resize})
	}()
	resize <- runtime.TerminalSize{Width: 120, Height: 50}
	// Until the resize has reached the terminal, the container answers another size.
	waitFor(t, "the resize", 10*time.Second, func() bool {
		go pw.Write([]byte("go\n")) // unblocked by pw.Close once nobody reads
		time.Sleep(50 * time.Millisecond)
		return strings.Contains(out.String(), "size:50 120")
	})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Attach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Attach did not end with the container")
	}
	st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 5*time.Second)
	if !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("attached output %q", out.String())
	}
	log, _ := os.ReadFile(st.LogPath)
	if !strings.Contains(string(log), "stdout F /dev/pts/0\r") || !strings.Contains(string(log), "stdout F done\r") {
		t.Errorf("tty log:\n%s", log)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

func TestHostNetworkSandbox(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pod := podConfig("hostnet")
	pod.LogDirectory = filepath.Join(e.logDir, "hostnet")
	pod.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
	}}
	sid, err := e.r.RunPodSandbox(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	facts := e.facts(sid)
	hostname, _ := os.Hostname()
	cid := e.start(sid, pod, containerConfig("main", "sh", "-c", "hostname; readlink /proc/self/ns/net"))
	st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 10*time.Second)
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	lines := readLog(t, st.LogPath)
	if !hasLine(lines, "stdout", "F", hostname) || !hasLine(lines, "stdout", "F", hostNet) {
		t.Errorf("log %+v lacks the host's hostname %s and network namespace %s", lines, hostname, hostNet)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

func TestSecurityContext(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("security")
	facts := e.facts(sid)
	cfg := containerConfig("app", "sh", "-c", "id; grep Cap /proc/self/status; touch /x 2>&1 || echo readonly-root")
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		RunAsUsername:  "app",
		ReadonlyRootfs: true,
		Capabilities:   &runtimeapi.Capability{DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"NET_BIND_SERVICE"}},
	}}
	cid := e.start(sid, pod, cfg)
	st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 10*time.Second)
	out, _ := os.ReadFile(st.LogPath)
	for _, want := range []string{"uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)", "CapBnd:\t0000000000000400", "readonly-root"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}

	priv := containerConfig("privileged", "sh", "-c", "grep CapEff /proc/self/status; ls /dev/loop-control /dev/null && mount -t tmpfs t /tmp && echo mounted")
	priv.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}}
	pid := e.start(sid, pod, priv)
	st = waitState(t, e.r, pid, runtimeapi.ContainerState_CONTAINER_EXITED, 10*time.Second)
	out, _ = os.ReadFile(st.LogPath)
	for _, want := range []string{"CapEff:\t" + ownCapEff(), "/dev/loop-control", "mounted"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("privileged log lacks %q:\n%s", want, out)
		}
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

// TestCreateContainerFailures: a container that cannot be created, or that runc cannot
// run at start, leaves nothing behind, and the sandbox goes on working.
func TestCreateContainerFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("failures")
	facts := e.facts(sid)
	tests := []struct {
		name    string
		cfg     *runtimeapi.ContainerConfig
		atStart bool // CreateContainer succeeds and StartContainer fails
	}{
		{name: "relative working directory", cfg: func() *runtimeapi.ContainerConfig {
			c := containerConfig("badcwd", "true")
			c.WorkingDir = "relative"
			return c
		}()},
		{name: "unknown user", cfg: func() *runtimeapi.ContainerConfig {
			c := containerConfig("baduser", "true")
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "nobody-here"}}
			return c
		}()},
		{name: "runc run fails", atStart: true, cfg: func() *runtimeapi.ContainerConfig {
			c := containerConfig("badmount", "true")
			c.Mounts = []*runtimeapi.Mount{{ContainerPath: "/proc/self/x", HostPath: t.TempDir()}}
			return c
		}()},
		{name: "missing image", cfg: func() *runtimeapi.ContainerConfig {
			c := containerConfig("noimage", "true")
			c.Image.Image = "nope"
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := e.r.CreateContainer(ctx, sid, tt.cfg, pod)
			if tt.atStart {
				if err != nil {
					t.Fatalf("CreateContainer: %v", err)
				}
				if err = e.r.StartContainer(ctx, id); err == nil {
					t.Fatal("StartContainer succeeded")
				}
			} else if err == nil {
				t.Fatal("CreateContainer succeeded")
			}
			t.Logf("the error: %v", err)
			if n := e.images.snapshotCount(); n != 0 {
				t.Errorf("%d snapshots left", n)
			}
			entries, _ := os.ReadDir(filepath.Join(facts.dir, "containers"))
			if len(entries) != 0 {
				t.Errorf("container directories left: %v", entries)
			}
			if cs, _ := e.r.ListContainers(ctx, sid); len(cs) != 0 {
				t.Errorf("containers listed: %v", cs)
			}
		})
	}
	cid := e.start(sid, pod, containerConfig("good", "true"))
	if st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 10*time.Second); st.ExitCode != 0 {
		t.Errorf("exit code %d", st.ExitCode)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}

// TestStartFailureIsTheContainers: what runc refuses to start (a command that does not
// exist, a mount it cannot make) fails StartContainer with runtime.ErrStartFailed, the
// pod's fault that upstream reports as StartError, and the container is removed; a
// failure before runc (a missing image) does not.
func TestStartFailureIsTheContainers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("startfail")
	missing := containerConfig("missing", "/nonexistent")
	bad := containerConfig("badmount", "true")
	bad.Mounts = []*runtimeapi.Mount{{ContainerPath: "/proc/self/x", HostPath: t.TempDir()}}
	for _, cfg := range []*runtimeapi.ContainerConfig{missing, bad} {
		name := cfg.Metadata.Name
		id, err := e.r.CreateContainer(ctx, sid, cfg, pod)
		if err != nil {
			t.Fatalf("%s: CreateContainer: %v", name, err)
		}
		if err := e.r.StartContainer(ctx, id); !errors.Is(err, runtime.ErrStartFailed) {
			t.Fatalf("%s: StartContainer = %v, want ErrStartFailed", name, err)
		}
		if _, err := e.r.ContainerStatus(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("%s: a container that failed to start is still there: %v", name, err)
		}
	}
	noImage := containerConfig("noimage", "true")
	noImage.Image.Image = "nope"
	if _, err := e.r.CreateContainer(ctx, sid, noImage, pod); err == nil || errors.Is(err, runtime.ErrStartFailed) {
		t.Fatalf("a missing image: %v, want an error that is not ErrStartFailed", err)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
}

// TestImageVolume mounts an image into a container read-only (CRI's Mount.image), and
// checks that its snapshot goes with the container.
func TestImageVolume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sid, pod := e.runPod("image-volume")
	facts := e.facts(sid)
	cfg := containerConfig("reader", "sh", "-c", "ls /img/bin/busybox && if touch /img/new 2>/dev/null; then echo writable; else echo read-only; fi")
	cfg.Mounts = []*runtimeapi.Mount{{ContainerPath: "/img", Image: &runtimeapi.ImageSpec{Image: "busybox"}}}
	cid := e.start(sid, pod, cfg)
	st := waitState(t, e.r, cid, runtimeapi.ContainerState_CONTAINER_EXITED, 15*time.Second)
	out, _ := os.ReadFile(st.LogPath)
	for _, want := range []string{"stdout F /img/bin/busybox\n", "stdout F read-only\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := e.images.snapshotCount(); n != 2 {
		t.Errorf("%d snapshots, want the rootfs and the image volume", n)
	}
	if err := e.r.RemoveContainer(ctx, cid); err != nil {
		t.Fatal(err)
	}
	if n := e.images.snapshotCount(); n != 0 {
		t.Errorf("%d snapshots left after the container was removed", n)
	}

	missing := containerConfig("missing", "true")
	missing.Mounts = []*runtimeapi.Mount{{ContainerPath: "/img", Image: &runtimeapi.ImageSpec{Image: "absent"}}}
	if _, err := e.r.CreateContainer(ctx, sid, missing, pod); err == nil || !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("image volume of an absent image: %v", err)
	}
	if err := e.r.RemovePodSandbox(ctx, sid); err != nil {
		t.Fatal(err)
	}
	e.assertRemoved(facts)
}
