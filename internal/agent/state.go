package agent

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Labels the agent puts on sandboxes and containers, to find them again.
const (
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelContainerName = "io.kubernetes.container.name"
	LabelContainerHash = "io.podium.container.hash"
	LabelInit          = "io.podium.container.init"
)

// RuntimePod is what the runtime holds of one pod.
type RuntimePod struct {
	// Sandbox is the newest sandbox; nil when there is none.
	Sandbox *SandboxState
	// Containers holds every container of the newest sandbox, newest attempt first
	// for each name.
	Containers []*ContainerState
}

// SandboxState is a sandbox as the runtime reports it.
type SandboxState struct {
	ID      string
	Ready   bool
	IP      string
	Attempt uint32
	Created time.Time
}

// ContainerState is a container as the runtime reports it.
type ContainerState struct {
	ID       string
	Name     string
	Init     bool
	Attempt  uint32 // the restart count at which it was made
	Hash     string // of the container spec it was made from
	State    runtimeapi.ContainerState
	ExitCode int32
	Reason   string
	Message  string
	Created  time.Time
	Started  time.Time
	Finished time.Time
	Image    string
	ImageRef string
	// Resources are the cgroup limits in force, as the runtime reports them (nil when
	// it does not).
	Resources *runtimeapi.LinuxContainerResources
	// Unstarted marks a running container whose startup probe has not succeeded yet.
	// The agent sets it from its prober; the runtime knows nothing of it.
	Unstarted bool
}

// Running reports whether the container runs.
func (c *ContainerState) Running() bool {
	return c.State == runtimeapi.ContainerState_CONTAINER_RUNNING
}

// Exited reports whether the container ran and ended.
func (c *ContainerState) Exited() bool {
	return c.State == runtimeapi.ContainerState_CONTAINER_EXITED
}

// sandboxIP returns the IP of a pod's sandbox: the node's for a pod on the host's
// network, else its own; "" without a sandbox.
func sandboxIP(pod *corev1.Pod, sb *SandboxState, hostIP string) string {
	switch {
	case sb == nil:
		return ""
	case pod.Spec.HostNetwork:
		return hostIP
	}
	return sb.IP
}

// latest returns the newest container of a name, or nil.
func (p *RuntimePod) latest(name string) *ContainerState {
	for _, c := range p.Containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// previous returns the container of a name before the newest, or nil.
func (p *RuntimePod) previous(name string) *ContainerState {
	seen := false
	for _, c := range p.Containers {
		if c.Name == name {
			if seen {
				return c
			}
			seen = true
		}
	}
	return nil
}
