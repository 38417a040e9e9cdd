package runtime

import (
	"context"
	"errors"
	"io"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Sentinel errors of every Runtime; test them with errors.Is.
var (
	// ErrNotFound marks a sandbox, container or image the runtime does not know.
	ErrNotFound = errors.New("not found")
	// ErrStartFailed marks a container whose process could not start: its command is
	// missing or not executable, its working directory cannot be entered, and the like.
	// The fault is the pod's (upstream reports StartError), not the runtime's.
	ErrStartFailed = errors.New("the container's process could not start")
)

// Runtime runs pod sandboxes and their containers. Every method is safe for concurrent
// use; Stop and Remove methods are idempotent (removing what is gone is not an error).
type Runtime interface {
	// RunPodSandbox creates and starts a sandbox: the pod's network, IPC and UTS
	// namespaces, its IP from CNI, and the files every container shares (/etc/hosts,
	// /etc/resolv.conf, /dev/shm). It returns the sandbox ID.
	RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig) (string, error)
	// StopPodSandbox stops every container of the sandbox at once (SIGKILL) and tears
	// down its network.
	StopPodSandbox(ctx context.Context, sandboxID string) error
	// RemovePodSandbox removes a stopped sandbox and everything left of it on the host.
	RemovePodSandbox(ctx context.Context, sandboxID string) error
	// PodSandboxStatus reports a sandbox's state and IP.
	PodSandboxStatus(ctx context.Context, sandboxID string) (*runtimeapi.PodSandboxStatus, error)
	// ListPodSandbox lists the sandboxes, running or not, that filter selects (all of
	// them when it is nil): by ID, state and labels, as CRI's PodSandboxFilter.
	ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)

	// CreateContainer prepares a container in a sandbox (rootfs, bundle, log file)
	// without starting it, and returns its ID.
	CreateContainer(ctx context.Context, sandboxID string, config *runtimeapi.ContainerConfig, sandbox *runtimeapi.PodSandboxConfig) (string, error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, containerID string) error
	// StopContainer sends SIGTERM (or the image's stop signal), waits up to timeout
	// seconds, then sends SIGKILL; it returns once the container has exited.
	StopContainer(ctx context.Context, containerID string, timeout int64) error
	// RemoveContainer removes an exited container and its rootfs; its log stays.
	RemoveContainer(ctx context.Context, containerID string) error
	// ContainerStatus reports a container's state, exit code, reason (Completed, Error,
	// OOMKilled), times, image, log path and cgroup limits.
	ContainerStatus(ctx context.Context, containerID string) (*runtimeapi.ContainerStatus, error)
	// UpdateContainerResources changes the cgroup limits of a running container in
	// place (CPU shares, quota and period, memory limit), as an in-place pod resize
	// does; ContainerStatus reports them from then on.
	UpdateContainerResources(ctx context.Context, containerID string, resources *runtimeapi.LinuxContainerResources) error
	// ContainerStats reports a container's use of the node: WritableLayer.UsedBytes is
	// what it wrote to its root file system.
	ContainerStats(ctx context.Context, containerID string) (*runtimeapi.ContainerStats, error)
	// ListContainers lists the containers, of one sandbox when sandboxID is set.
	ListContainers(ctx context.Context, sandboxID string) ([]*runtimeapi.Container, error)

	// ExecSync runs cmd in a container and returns its output and exit code; the
	// timeout (0 for none) kills it.
	ExecSync(ctx context.Context, containerID string, cmd []string, timeoutSeconds int64) (stdout, stderr []byte, exitCode int32, err error)
	// Exec runs cmd in a container with the given streams (nil for none); with tty the
	// output comes on stdout only and resize carries terminal sizes. It returns the
	// command's exit code.
	Exec(ctx context.Context, containerID string, cmd []string, streams Streams) (int32, error)
	// Attach connects streams to a running container's stdin/stdout/stderr.
	Attach(ctx context.Context, containerID string, streams Streams) error
	// PortForward copies between stream and a TCP port inside the sandbox's network.
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error
}

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height uint16
}

// Streams are the standard streams of an exec or attach.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan TerminalSize
}

// ImageService keeps the node's images.
type ImageService interface {
	// PullImage fetches an image (with credentials when auth is set) and returns its
	// image ID (the config digest).
	PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig) (string, error)
	// ImageStatus returns the image a reference names, or nil when it is not present.
	ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec) (*runtimeapi.Image, error)
	// ListImages lists the images present.
	ListImages(ctx context.Context) ([]*runtimeapi.Image, error)
	// RemoveImage removes an image; removing what is absent is not an error.
	RemoveImage(ctx context.Context, image *runtimeapi.ImageSpec) error
}

// MatchesSandbox reports whether a sandbox with this ID, state and labels is one that
// filter selects; a nil filter selects every sandbox.
func MatchesSandbox(filter *runtimeapi.PodSandboxFilter, id string, state runtimeapi.PodSandboxState, labels map[string]string) bool {
	if filter == nil {
		return true
	}
	if filter.Id != "" && filter.Id != id {
		return false
	}
	if filter.State != nil && filter.State.State != state {
		return false
	}
	for k, v := range filter.LabelSelector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
