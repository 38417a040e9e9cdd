package runc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/image"
	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// Config configures a Runtime.
type Config struct {
	// StateDir holds every sandbox's directory (metadata, shim socket, namespace pins,
	// shared files, container bundles); for example DATA_DIR/agent/runtime. A new
	// Runtime on the same StateDir re-adopts what an earlier one left running.
	StateDir string
	// ShimBinary is the podium-shim executable; by default the one beside this
	// process's executable, else the one on PATH.
	ShimBinary string
	// RuncBinary is the runc executable; by default runc on PATH.
	RuncBinary string
	// RuncRoot is runc's state directory (runc --root); by default StateDir/runc.
	RuncRoot string
	// CgroupParent is the cgroup under which pods get their cgroups
	// (CgroupParent/pod<UID>/<container ID>); by default /podium.
	CgroupParent string
	// Images makes containers' root filesystems. Required.
	Images image.Store
	// Network attaches pods to the pod network. Required.
	Network network.Network
	// Logger receives what the runtime does; by default nothing.
	Logger *slog.Logger
}

// Runtime runs pods and their containers with runc and one podium-shim per pod.
//
// On disk, under Config.StateDir:
//
//	runc/                          runc's state (unless Config.RuncRoot)
//	sandboxes/ID/sandbox.json      the sandbox's metadata (sandboxMeta)
//	sandboxes/ID/shim.sock         the shim's socket; shim.log its output
//	sandboxes/ID/ns/{net,ipc,uts}  the pinned namespaces (bind mounts)
//	sandboxes/ID/{hosts,resolv.conf,hostname}, shm/ (a tmpfs)
//	sandboxes/ID/containers/CID/   the OCI bundle: config.json, rootfs/ (overlay),
//	                               container.json (containerMeta), state.json,
//	                               init.pid and runc.log (written by the shim)
//
// Containers get the cgroup CgroupParent/pod<UID>/<CID> in every hierarchy (or the
// sandbox config's cgroup parent/<CID>); removing the last container of a pod removes
// the pod's cgroup too.
type Runtime struct {
	cfg         Config
	log         *slog.Logger
	hierarchies []string // cgroup mount points

	mu         sync.Mutex // guards sandboxes and containers
	sandboxes  map[string]*sandbox
	containers map[string]*container
}

var _ runtime.Runtime = (*Runtime)(nil)

// New checks the host's prerequisites and loads the sandboxes and containers an
// earlier Runtime left in cfg.StateDir; their shims keep running and are used as they
// are.
func New(cfg Config) (*Runtime, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("runc runtime: StateDir is required")
	}
	if cfg.Images == nil || cfg.Network == nil {
		return nil, errors.New("runc runtime: Images and Network are required")
	}
	if err := resolveConfig(&cfg); err != nil {
		return nil, err
	}
	hierarchies, controllers, err := cgroupHierarchies()
	if err != nil {
		return nil, fmt.Errorf("runc runtime: %w", err)
	}
	if err := checkPrerequisites(cfg, controllers); err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.StateDir, filepath.Join(cfg.StateDir, "sandboxes"), cfg.RuncRoot} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("runc runtime: %w", err)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Runtime{
		cfg:         cfg,
		log:         log,
		hierarchies: hierarchies,
		sandboxes:   map[string]*sandbox{},
		containers:  map[string]*container{},
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// resolveConfig fills in defaults and makes the binaries' paths absolute.
func resolveConfig(cfg *Config) error {
	cfg.StateDir = filepath.Clean(cfg.StateDir)
	if !filepath.IsAbs(cfg.StateDir) {
		abs, err := filepath.Abs(cfg.StateDir)
		if err != nil {
			return err
		}
		cfg.StateDir = abs
	}
	if cfg.RuncRoot == "" {
		cfg.RuncRoot = filepath.Join(cfg.StateDir, "runc")
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "/podium"
	}
	if !strings.HasPrefix(cfg.CgroupParent, "/") {
		cfg.CgroupParent = "/" + cfg.CgroupParent
	}
	cfg.CgroupParent = filepath.Clean(cfg.CgroupParent)
	if cfg.RuncBinary == "" {
		cfg.RuncBinary = "runc"
	}
	if p, err := exec.LookPath(cfg.RuncBinary); err == nil {
		cfg.RuncBinary = p
	}
	if cfg.ShimBinary == "" {
		cfg.ShimBinary = "podium-shim"
		if self, err := os.Executable(); err == nil {
			beside := filepath.Join(filepath.Dir(self), "podium-shim")
			if _, err := os.Stat(beside); err == nil {
				cfg.ShimBinary = beside
			}
		}
	}
	if p, err := exec.LookPath(cfg.ShimBinary); err == nil {
		cfg.ShimBinary = p
	}
	return nil
}

// CheckPrerequisites reports what the host lacks to run the runtime: root, runc,
// the shim, overlayfs, and the cgroup v1 memory, cpu and pids controllers. It names
// each missing piece and how to install it.
func CheckPrerequisites(cfg Config) error {
	if err := resolveConfig(&cfg); err != nil {
		return err
	}
	_, controllers, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	return checkPrerequisites(cfg, controllers)
}

func checkPrerequisites(cfg Config, controllers map[string]bool) error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root: the runtime mounts filesystems and makes namespaces; run as root")
	}
	if _, err := exec.LookPath(cfg.RuncBinary); err != nil {
		missing = append(missing, fmt.Sprintf("runc (%s): install the Debian package runc (apt-get install runc)", cfg.RuncBinary))
	}
	if _, err := exec.LookPath(cfg.ShimBinary); err != nil {
		missing = append(missing, fmt.Sprintf("podium-shim (%s): build it with go build -o bin/podium-shim ./cmd/podium-shim and put it beside podium or on PATH", cfg.ShimBinary))
	}
	if b, err := os.ReadFile("/proc/filesystems"); err != nil || !strings.Contains(string(b), "\toverlay\n") {
		missing = append(missing, "overlayfs: load the overlay kernel module (modprobe overlay)")
	}
	for _, c := range []string{"memory", "cpu", "pids"} {
		if !controllers[c] {
			missing = append(missing, fmt.Sprintf("the cgroup v1 %s controller: mount it (mount -t cgroup -o %s cgroup /sys/fs/cgroup/%s)", c, c, c))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("runc runtime: missing prerequisites:\n  %s", strings.Join(missing, "\n  "))
	}
	return nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Runtime) sandboxDir(id string) string {
	return filepath.Join(r.cfg.StateDir, "sandboxes", id)
}

// load reads the sandboxes and containers on disk.
func (r *Runtime) load() error {
	root := filepath.Join(r.cfg.StateDir, "sandboxes")
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("runc runtime: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sb, err := r.loadSandbox(e.Name())
		if err != nil {
			// A sandbox whose creation never wrote its metadata: keep what is needed
			// to remove it.
			r.log.Warn("sandbox metadata unreadable; it will be reported not ready", "sandbox", e.Name(), "err", err)
			sb = &sandbox{id: e.Name(), dir: r.sandboxDir(e.Name()), config: &runtimeapi.PodSandboxConfig{},
				meta: sandboxMeta{ID: e.Name(), State: stateNotReady}}
		}
		r.sandboxes[sb.id] = sb
		cdir := filepath.Join(sb.dir, shimproto.ContainersDir)
		centries, _ := os.ReadDir(cdir)
		for _, ce := range centries {
			c, err := loadContainer(filepath.Join(cdir, ce.Name()))
			if err != nil {
				r.log.Warn("container metadata unreadable", "sandbox", sb.id, "container", ce.Name(), "err", err)
				continue
			}
			r.containers[c.id] = c
		}
	}
	return nil
}

func (r *Runtime) getSandbox(id string) (*sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %q: %w", id, runtime.ErrNotFound)
	}
	return sb, nil
}

func (r *Runtime) getContainer(id string) (*container, *sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, nil, fmt.Errorf("container %q: %w", id, runtime.ErrNotFound)
	}
	sb, ok := r.sandboxes[c.sandboxID]
	if !ok {
		return nil, nil, fmt.Errorf("sandbox %q of container %q: %w", c.sandboxID, id, runtime.ErrNotFound)
	}
	return c, sb, nil
}

// runcCommand runs runc from this process, for exec and for cleaning up after a
// shim that is gone.
func (r *Runtime) runcCommand(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, r.cfg.RuncBinary, append([]string{"--root", r.cfg.RuncRoot}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
