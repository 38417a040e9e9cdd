package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Server is a podium server process started by a benchmark.
type Server struct {
	Bin, DataDir             string
	Port, EtcdPort, PeerPort int
	// Args are extra flags for podium server.
	Args   []string
	cmd    *exec.Cmd
	exited chan error
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NewServer prepares a server with a new data directory under dir.
func NewServer(bin, dir string) *Server {
	return &Server{Bin: bin, DataDir: dir, Port: freePort(), EtcdPort: freePort(), PeerPort: freePort()}
}

// Start runs the server and returns how long it took until /readyz answered ok.
func (s *Server) Start() (time.Duration, error) {
	start := time.Now()
	s.cmd = exec.Command(filepath.Join(s.Bin, "podium"), "server", "--data-dir", s.DataDir,
		"--bind-address", "127.0.0.1", "--https-listen-port", strconv.Itoa(s.Port),
		"--etcd-client-port", strconv.Itoa(s.EtcdPort), "--etcd-peer-port", strconv.Itoa(s.PeerPort), "--disable-agent")
	s.cmd.Args = append(s.cmd.Args, s.Args...)
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return 0, err
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Second}
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", s.Port)
	tokenFile := filepath.Join(s.DataDir, "tls", "admin.token")
	for time.Since(start) < 60*time.Second {
		select {
		case err := <-s.exited:
			return 0, fmt.Errorf("server exited: %v", err)
		default:
		}
		if tok, err := os.ReadFile(tokenFile); err == nil {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return time.Since(start), nil
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("server not ready within 60s")
}

// Stop ends the server with SIGTERM and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// PID returns the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Rest returns an admin client configuration without client-side rate limits.
func (s *Server) Rest() *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(s.DataDir, "kubeconfig.yaml"))
	if err != nil {
		panic(err)
	}
	cfg.QPS, cfg.Burst = -1, 1000
	return cfg
}

// Client returns an admin clientset; protobuf selects the protobuf encoding.
func (s *Server) Client(protobuf bool) *kubernetes.Clientset {
	cfg := s.Rest()
	if protobuf {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	} else {
		cfg.ContentType = "application/json"
		cfg.AcceptContentTypes = "application/json"
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		panic(err)
	}
	return cs
}

// RSS returns a process's resident set size in bytes.
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// bg is the context of benchmark requests.
var bg = context.Background()
