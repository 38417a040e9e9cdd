package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/runtime"
)

// Runtime is an in-memory runtime. A container whose image is "exit:N" exits with code
// N as soon as it starts; any other runs until stopped (exit code 137 when killed).
// Images named "missing..." cannot be pulled.
type Runtime struct {
	clock clock.PassiveClock

	mu         sync.Mutex // guards everything below
	next       int
	sandboxes  map[string]*sandbox
	containers map[string]*container
	images     map[string]bool
	// Pulls counts image pulls, by image.
	Pulls map[string]int
	// failStops is how many of the next stops fail, leaving everything running.
	failStops int
}

// errStopFailed is what a stop made to fail (FailStops) returns.
var errStopFailed = errors.New("the process did not die")

// FailStops makes the next n calls of StopContainer and StopPodSandbox fail and stop
// nothing, as a runtime that cannot kill would.
func (r *Runtime) FailStops(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failStops = n
}

// stopFails consumes one failing stop; r.mu must be held.
func (r *Runtime) stopFails() bool {
	if r.failStops == 0 {
		return false
	}
	r.failStops--
	return true
}

type sandbox struct {
	config *runtimeapi.PodSandboxConfig
	ready  bool
	ip     string
	at     int64
}

type container struct {
	sandbox  string
	config   *runtimeapi.ContainerConfig
	status   *runtimeapi.ContainerStatus
	writable uint64 // bytes its writable layer holds (SetWritableLayer)
}

var (
	_ runtime.Runtime      = (*Runtime)(nil)
	_ runtime.ImageService = (*Runtime)(nil)
)

// New returns an empty runtime on clk.
func New(clk clock.PassiveClock) *Runtime {
	return &Runtime{clock: clk, sandboxes: map[string]*sandbox{}, containers: map[string]*container{},
		images: map[string]bool{}, Pulls: map[string]int{}}
}

func (r *Runtime) id(prefix string) string {
	r.next++
	return prefix + strconv.Itoa(r.next)
}

// RunPodSandbox implements runtime.Runtime.
func (r *Runtime) RunPodSandbox(_ context.Context, config *runtimeapi.PodSandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.id("sb")
	r.sandboxes[id] = &sandbox{config: config, ready: true, ip: fmt.Sprintf("10.42.0.%d", r.next%250+2), at: r.clock.Now().UnixNano()}
	return id, nil
}

// StopPodSandbox implements runtime.Runtime.
func (r *Runtime) StopPodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopFails() {
		return fmt.Errorf("stopping sandbox %s: %w", id, errStopFailed)
	}
	if sb, ok := r.sandboxes[id]; ok {
		sb.ready = false
		for _, c := range r.containers {
			if c.sandbox == id {
				r.exit(c, 137, "Error")
			}
		}
	}
	return nil
}

// RemovePodSandbox implements runtime.Runtime.
func (r *Runtime) RemovePodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sandboxes, id)
	for cid, c := range r.containers {
		if c.sandbox == id {
			delete(r.containers, cid)
		}
	}
	return nil
}

// PodSandboxStatus implements runtime.Runtime.
func (r *Runtime) PodSandboxStatus(_ context.Context, id string) (*runtimeapi.PodSandboxStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %s: %w", id, runtime.ErrNotFound)
	}
	return &runtimeapi.PodSandboxStatus{Id: id, Metadata: sb.config.Metadata, State: state(sb.ready), CreatedAt: sb.at,
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: sb.ip}, Labels: sb.config.Labels}, nil
}

func state(ready bool) runtimeapi.PodSandboxState {
	if ready {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// ListPodSandbox implements runtime.Runtime.
func (r *Runtime) ListPodSandbox(_ context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.PodSandbox
	for id, sb := range r.sandboxes {
		if !runtime.MatchesSandbox(filter, id, state(sb.ready), sb.config.Labels) {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{Id: id, Metadata: sb.config.Metadata, State: state(sb.ready), CreatedAt: sb.at, Labels: sb.config.Labels})
	}
	return out, nil
}

// CreateContainer implements runtime.Runtime.
func (r *Runtime) CreateContainer(_ context.Context, sandboxID string, config *runtimeapi.ContainerConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb, ok := r.sandboxes[sandboxID]; !ok || !sb.ready {
		return "", fmt.Errorf("sandbox %s is not ready", sandboxID)
	}
	id := r.id("c")
	r.containers[id] = &container{sandbox: sandboxID, config: config, status: &runtimeapi.ContainerStatus{
		Id: id, Metadata: config.Metadata, State: runtimeapi.ContainerState_CONTAINER_CREATED,
		CreatedAt: r.clock.Now().UnixNano(), Image: config.Image, ImageRef: "sha256:" + config.Image.Image, Labels: config.Labels}}
	if res := config.GetLinux().GetResources(); res != nil {
		r.containers[id].status.Resources = &runtimeapi.ContainerResources{Linux: proto.Clone(res).(*runtimeapi.LinuxContainerResources)}
	}
	return id, nil
}

// StartContainer implements runtime.Runtime.
func (r *Runtime) StartContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	c.status.State = runtimeapi.ContainerState_CONTAINER_RUNNING
	c.status.StartedAt = r.clock.Now().UnixNano()
	if code, ok := strings.CutPrefix(c.config.Image.Image, "exit:"); ok {
		n, _ := strconv.Atoi(code)
		reason := "Completed"
		if n != 0 {
			reason = "Error"
		}
		r.exit(c, int32(n), reason)
	}
	return nil
}

func (r *Runtime) exit(c *container, code int32, reason string) {
	if c.status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return
	}
	c.status.State = runtimeapi.ContainerState_CONTAINER_EXITED
	c.status.ExitCode, c.status.Reason = code, reason
	c.status.FinishedAt = r.clock.Now().UnixNano()
}

// Exit makes a running container exit with code, as if its process ended.
func (r *Runtime) Exit(id string, code int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok {
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		r.exit(c, code, reason)
	}
}

// StopContainer implements runtime.Runtime.
func (r *Runtime) StopContainer(_ context.Context, id string, _ int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopFails() {
		return fmt.Errorf("stopping container %s: %w", id, errStopFailed)
	}
	if c, ok := r.containers[id]; ok {
		r.exit(c, 137, "Error")
	}
	return nil
}

// RemoveContainer implements runtime.Runtime.
func (r *Runtime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.containers, id)
	return nil
}

// ContainerStatus implements runtime.Runtime.
func (r *Runtime) ContainerStatus(_ context.Context, id string) (*runtimeapi.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	return proto.Clone(c.status).(*runtimeapi.ContainerStatus), nil
}

// UpdateContainerResources implements runtime.Runtime.
func (r *Runtime) UpdateContainerResources(_ context.Context, id string, resources *runtimeapi.LinuxContainerResources) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	if c.status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return fmt.Errorf("container %s is not running", id)
	}
	c.status.Resources = &runtimeapi.ContainerResources{Linux: proto.Clone(resources).(*runtimeapi.LinuxContainerResources)}
	return nil
}

// ListContainers implements runtime.Runtime.
func (r *Runtime) ListContainers(_ context.Context, sandboxID string) ([]*runtimeapi.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.Container
	for id, c := range r.containers {
		if sandboxID == "" || c.sandbox == sandboxID {
			out = append(out, &runtimeapi.Container{Id: id, PodSandboxId: c.sandbox, Metadata: c.config.Metadata,
				State: c.status.State, CreatedAt: c.status.CreatedAt, Labels: c.config.Labels, Image: c.config.Image})
		}
	}
	return out, nil
}

// Running returns the IDs of the running containers of a name.
func (r *Runtime) Running(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, c := range r.containers {
		if c.config.Metadata.Name == name && c.status.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			out = append(out, id)
		}
	}
	return out
}

// LoseSandbox makes the sandbox of the container id not ready, its containers exited
// with code 255, as when a pod's shim dies and its containers are stopped without it.
func (r *Runtime) LoseSandbox(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return
	}
	r.sandboxes[c.sandbox].ready = false
	for _, other := range r.containers {
		if other.sandbox == c.sandbox {
			r.exit(other, 255, "Unknown")
		}
	}
}

// Config returns the configuration a container was created with, or nil.
func (r *Runtime) Config(id string) *runtimeapi.ContainerConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok {
		return c.config
	}
	return nil
}

// Empty reports whether the runtime holds nothing.
func (r *Runtime) Empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sandboxes) == 0 && len(r.containers) == 0
}

// ExecSync implements runtime.Runtime: it echoes the command.
func (r *Runtime) ExecSync(_ context.Context, _ string, cmd []string, _ int64) ([]byte, []byte, int32, error) {
	return []byte(strings.Join(cmd, " ")), nil, 0, nil
}

// Exec implements runtime.Runtime: it echoes the command.
func (r *Runtime) Exec(_ context.Context, _ string, cmd []string, s runtime.Streams) (int32, error) {
	if s.Stdout != nil {
		_, _ = io.WriteString(s.Stdout, strings.Join(cmd, " "))
	}
	return 0, nil
}

// Attach implements runtime.Runtime.
func (r *Runtime) Attach(context.Context, string, runtime.Streams) error { return nil }

// PortForward implements runtime.Runtime.
func (r *Runtime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error { return nil }

// PullImage implements runtime.ImageService.
func (r *Runtime) PullImage(_ context.Context, image *runtimeapi.ImageSpec, _ *runtimeapi.AuthConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Pulls[image.Image]++
	if strings.HasPrefix(image.Image, "missing") {
		return "", fmt.Errorf("rpc error: code = NotFound desc = failed to pull and unpack image %q: not found", image.Image)
	}
	r.images[image.Image] = true
	return "sha256:" + image.Image, nil
}

// ImageStatus implements runtime.ImageService.
func (r *Runtime) ImageStatus(_ context.Context, image *runtimeapi.ImageSpec) (*runtimeapi.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.images[image.Image] {
		return nil, nil
	}
	return &runtimeapi.Image{Id: "sha256:" + image.Image, RepoTags: []string{image.Image}, Size: 1234}, nil
}

// ListImages implements runtime.ImageService.
func (r *Runtime) ListImages(context.Context) ([]*runtimeapi.Image, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.Image
	for img := range r.images {
		out = append(out, &runtimeapi.Image{Id: "sha256:" + img, RepoTags: []string{img}, Size: 1234})
	}
	return out, nil
}

// RemoveImage implements runtime.ImageService.
func (r *Runtime) RemoveImage(_ context.Context, image *runtimeapi.ImageSpec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.images, image.Image)
	return nil
}

// PullCount returns how often an image was pulled.
func (r *Runtime) PullCount(image string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Pulls[image]
}

// SetWritableLayer makes ContainerStats report that container id wrote n bytes to its
// root file system.
func (r *Runtime) SetWritableLayer(id string, n uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	c.writable = n
	return nil
}

// ContainerStats implements runtime.Runtime.
func (r *Runtime) ContainerStats(_ context.Context, id string) (*runtimeapi.ContainerStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	return &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{Id: id, Metadata: c.config.Metadata},
		WritableLayer: &runtimeapi.FilesystemUsage{Timestamp: r.clock.Now().UnixNano(), UsedBytes: &runtimeapi.UInt64Value{Value: c.writable}}}, nil
}
