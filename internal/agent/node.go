package agent

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// MaxPods is the number of pods a node takes unless told otherwise, upstream's default.
const MaxPods = 110

// maxPodsLimit is the most pods a node can take: the usable addresses of its /24.
const maxPodsLimit = 253

// NodeInfo is what the agent reports about its host.
type NodeInfo struct {
	Name           string
	InternalIP     string
	Hostname       string
	KubeletVersion string
	RuntimeVersion string // "runc://1.1.5"
	DataDir        string // for ephemeral-storage capacity
	KubeletPort    int32
	MaxPods        int // the pods capacity; MaxPods when 0
}

// ValidateMaxPods checks a --max-pods value: at least 1, and no more than the node's
// /24 of pod addresses holds.
func ValidateMaxPods(n int) error {
	if n < 1 || n > maxPodsLimit {
		return fmt.Errorf("--max-pods %d: want 1 to %d (the addresses of the node's /24 pod range)", n, maxPodsLimit)
	}
	return nil
}

// HostNodeInfo fills what can be read from the host: addresses, capacity sources.
func HostNodeInfo(name, dataDir string) NodeInfo {
	host, _ := os.Hostname()
	return NodeInfo{Name: name, Hostname: host, InternalIP: hostIP(), DataDir: dataDir}
}

// hostIP returns the host's first global IPv4 address, or loopback.
func hostIP() string {
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// capacity reads the node's cpu, memory, pods and ephemeral-storage.
func (n NodeInfo) capacity() corev1.ResourceList {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: *resource.NewQuantity(int64(cmp.Or(n.MaxPods, MaxPods)), resource.DecimalSI),
	}
	if mem := memTotal(); mem > 0 {
		rl[corev1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	}
	var st unix.Statfs_t
	dir := n.DataDir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Statfs(dir, &st); err == nil {
		rl[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(st.Blocks)*st.Bsize, resource.BinarySI)
	}
	return rl
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func osImage() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

func kernelVersion() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func readID(path string) string {
	data, _ := os.ReadFile(path)
	return strings.TrimSpace(strings.ReplaceAll(string(data), "-", ""))
}

// nodeStatus returns the status the agent reports, with Ready as given.
func (n NodeInfo) nodeStatus(now metav1.Time, ready bool, readyMessage string) corev1.NodeStatus {
	capacity := n.capacity()
	st := corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity.DeepCopy(),
		Phase:       corev1.NodeRunning,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.InternalIP},
			{Type: corev1.NodeHostName, Address: n.Hostname},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: n.KubeletPort}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               readID("/etc/machine-id"),
			BootID:                  readID("/proc/sys/kernel/random/boot_id"),
			KernelVersion:           kernelVersion(),
			OSImage:                 osImage(),
			ContainerRuntimeVersion: n.RuntimeVersion,
			KubeletVersion:          n.KubeletVersion,
			KubeProxyVersion:        "",
			OperatingSystem:         goruntime.GOOS,
			Architecture:            goruntime.GOARCH,
		},
	}
	readyCond := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
	if !ready {
		readyCond.Status, readyCond.Reason, readyCond.Message = corev1.ConditionFalse, "KubeletNotReady", readyMessage
	}
	st.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory",
			Message: "kubelet has sufficient memory available", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure",
			Message: "kubelet has no disk pressure", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID",
			Message: "kubelet has sufficient PID available", LastHeartbeatTime: now, LastTransitionTime: now},
		readyCond,
	}
	return st
}

// mergeConditions keeps each condition's lastTransitionTime while its status stays.
func mergeConditions(next, old []corev1.NodeCondition) {
	for i := range next {
		for _, o := range old {
			if o.Type == next[i].Type && o.Status == next[i].Status {
				next[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
}

// register creates the agent's Node, or takes over the one that exists, and returns it.
func register(ctx context.Context, client kubernetes.Interface, info NodeInfo, now metav1.Time) (*corev1.Node, error) {
	labels := map[string]string{
		corev1.LabelHostname:   info.Name,
		corev1.LabelOSStable:   goruntime.GOOS,
		corev1.LabelArchStable: goruntime.GOARCH,
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: info.Name, Labels: labels},
		Status: info.nodeStatus(now, false, "container runtime is starting")}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("registering node %s: %w", info.Name, err)
	}
	return client.CoreV1().Nodes().Get(ctx, info.Name, metav1.GetOptions{})
}
