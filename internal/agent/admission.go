package agent

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/nodeports"
)

// rejectedPrefix starts the status message of a pod the agent refused to run; such a
// pod stays refused.
const rejectedPrefix = "Pod was rejected: "

// hostPorts holds the host ports of the pods admitted to the node and not yet ended, so
// that a pod bound here whose ports another pod holds is refused, as upstream's kubelet
// refuses it (the scheduler cannot see a pod bound by name, or a race between two binds).
type hostPorts struct {
	mu   sync.Mutex
	pods map[types.UID][]framework.HostPort
	used framework.HostPortInfo
}

func newHostPorts() *hostPorts {
	return &hostPorts{pods: map[types.UID][]framework.HostPort{}, used: framework.HostPortInfo{}}
}

// admit records pod's host ports and reports true, or reports false when one of them is
// taken by another admitted pod. A pod admitted before keeps its ports; force admits
// without the check (a pod that ran before the agent started).
func (h *hostPorts) admit(pod *corev1.Pod, force bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.pods[pod.UID]; ok {
		return true
	}
	want := framework.PodHostPorts(pod)
	if !force && !nodeports.Fits(want, h.used) {
		return false
	}
	for _, hp := range want {
		h.used.Add(hp)
	}
	h.pods[pod.UID] = want
	return true
}

// release frees the ports of a pod that ended or went away.
func (h *hostPorts) release(uid types.UID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hp := range h.pods[uid] {
		h.used.Remove(hp)
	}
	delete(h.pods, uid)
}
