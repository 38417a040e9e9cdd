package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
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

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podium/podium/internal/etcd/etcdtest"
)

// binDir returns the directory holding podium and podium-kubectl. Without them the test
// fails under CI=true and is skipped otherwise.
func binDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PODIUM_BIN")
	if dir == "" {
		dir, _ = filepath.Abs("../../bin")
	}
	for _, b := range []string{"podium", "podium-kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing in %s: run `make build`", b, dir)
			}
			t.Skipf("%s missing in %s: run `make build`", b, dir)
		}
	}
	return dir
}

// cluster is one running `podium server`.
type cluster struct {
	t          *testing.T
	bin        string
	dataDir    string
	port       int
	etcdPort   int
	peerPort   int
	kubeconfig string
	cmd        *exec.Cmd
	exited     chan struct{}
	log        *serverLog
	extraArgs  []string
	withAgent  bool   // run the server's node agent
	netns      string // the network namespace (under /run/netns) to run the server in
	registry   string // host:port of the registry the agent pulls docker.io images from
}

// startCluster starts podium server with a fresh data directory and extra flags.
func startCluster(t *testing.T, args ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: binDir(t), dataDir: t.TempDir(), extraArgs: args,
		port: etcdtest.FreePort(t), etcdPort: etcdtest.FreePort(t), peerPort: etcdtest.FreePort(t)}
	c.kubeconfig = filepath.Join(c.dataDir, "kubeconfig.yaml")
	c.start()
	t.Cleanup(c.stop)
	return c
}

// start runs the server and returns once it says it is ready. A port that FreePort
// offered but something else took in the meantime gets new ports and another try.
func (c *cluster) start() {
	c.t.Helper()
	for try := 0; ; try++ {
		err := c.tryStart()
		if err == nil {
			return
		}
		if try < 3 && strings.Contains(err.Error(), "address already in use") {
			c.port = etcdtest.FreePort(c.t)
			if c.etcdPort != 0 {
				c.etcdPort, c.peerPort = etcdtest.FreePort(c.t), etcdtest.FreePort(c.t)
			}
			if i := slices.Index(c.extraArgs, "--agent-port"); i >= 0 && i+1 < len(c.extraArgs) {
				c.extraArgs[i+1] = strconv.Itoa(etcdtest.FreePort(c.t))
			}
			continue
		}
		c.t.Fatal(err)
	}
}

func (c *cluster) tryStart() error {
	t := c.t
	t.Helper()
	args := []string{"server", "--data-dir", c.dataDir, "--bind-address", "127.0.0.1",
		"--https-listen-port", strconv.Itoa(c.port)}
	if !c.withAgent {
		args = append(args, "--disable-agent")
	}
	if c.etcdPort != 0 {
		args = append(args, "--etcd-client-port", strconv.Itoa(c.etcdPort), "--etcd-peer-port", strconv.Itoa(c.peerPort))
	}
	c.cmd = exec.Command(filepath.Join(c.bin, "podium"), append(args, c.extraArgs...)...)
	if c.netns != "" {
		// nsenter execs podium, so the process is the server's own.
		c.cmd = exec.Command("nsenter", append([]string{"--net=/run/netns/" + c.netns, filepath.Join(c.bin, "podium")}, append(args, c.extraArgs...)...)...)
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.exited = make(chan struct{})
	c.log = &serverLog{}
	ready := make(chan struct{})
	// With the agent, ready is once it listens too: its port can be taken as well.
	readyLine := "podium server is ready"
	if c.withAgent {
		readyLine = "node agent is running"
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			c.log.add(sc.Text())
			if !signalled && strings.Contains(sc.Text(), readyLine) {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	select {
	case <-ready:
		return nil
	case <-c.exited:
		c.cmd = nil
		return fmt.Errorf("podium server exited before it was ready:\n%s", c.log)
	case <-time.After(60 * time.Second):
		return fmt.Errorf("podium server not ready within 60s:\n%s", c.log)
	}
}

// stop ends the server with SIGTERM and waits for it; it kills it after 10 s.
func (c *cluster) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		c.t.Errorf("podium server did not stop within 10s of SIGTERM")
	}
	c.cmd = nil
}

// kubectl runs the embedded kubectl through `podium kubectl` with the cluster's
// kubeconfig and returns its output.
func (c *cluster) kubectl(args ...string) (stdout, stderr string, err error) {
	return c.kubectlIn("", args...)
}

func (c *cluster) kubectlIn(stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "podium"), append([]string{"kubectl"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// mustKubectl runs kubectl and fails the test if it fails.
func (c *cluster) mustKubectl(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.kubectl(args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// restConfig returns the admin client configuration.
func (c *cluster) restConfig() *rest.Config {
	c.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		c.t.Fatal(err)
	}
	return cfg
}

func (c *cluster) client() *kubernetes.Clientset {
	c.t.Helper()
	cs, err := kubernetes.NewForConfig(c.restConfig())
	if err != nil {
		c.t.Fatal(err)
	}
	return cs
}

func (c *cluster) url() string { return fmt.Sprintf("https://127.0.0.1:%d", c.port) }

// serverLog is what a server process wrote to stderr, read while it is still written.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *serverLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

// tail returns the last n lines, or all when n < 0.
func (l *serverLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := 0
	if n >= 0 {
		from = max(0, len(l.lines)-n)
	}
	return strings.Join(l.lines[from:], "\n")
}

func (l *serverLog) String() string { return l.tail(-1) }

// dumpState logs what a failed test needs to be understood: the pods, the events and the
// end of the server's log.
func (c *cluster) dumpState() {
	c.t.Helper()
	for _, args := range [][]string{
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
	} {
		out, errOut, _ := c.kubectl(args...)
		c.t.Logf("kubectl %s:\n%s%s", strings.Join(args, " "), out, errOut)
	}
	if c.log != nil {
		c.t.Logf("the server's log, last 300 lines:\n%s", c.log.tail(300))
	}
}
