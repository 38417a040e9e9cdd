package agent

import (
	"fmt"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/kubectl/pkg/util/qos"
)

// PodLogDir returns where a pod's container logs go: LOGROOT/<ns>_<name>_<uid>.
func PodLogDir(root string, pod *corev1.Pod) string {
	return filepath.Join(root, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}

// ContainerLogPath returns a container run's log, relative to the pod's log dir.
func ContainerLogPath(name string, attempt uint32) string {
	return filepath.Join(name, strconv.FormatUint(uint64(attempt), 10)+".log")
}

// sandboxConfig describes a pod's sandbox to the runtime.
func sandboxConfig(pod *corev1.Pod, attempt uint32, logRoot string) *runtimeapi.PodSandboxConfig {
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > 63 {
		hostname = hostname[:63]
	}
	labels := map[string]string{}
	for k, v := range pod.Labels {
		labels[k] = v
	}
	labels[LabelPodUID], labels[LabelPodName], labels[LabelPodNamespace] = string(pod.UID), pod.Name, pod.Namespace
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt},
		Hostname:     hostname,
		LogDirectory: PodLogDir(logRoot, pod),
		Labels:       labels,
		Annotations:  pod.Annotations,
		// The runtime puts the pod's cgroups under its own parent (/podium/pod<uid>) and
		// removes them with the pod.
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: namespaceOptions(pod)},
		},
	}
	if psc := pod.Spec.SecurityContext; psc != nil && len(psc.Sysctls) > 0 {
		cfg.Linux.Sysctls = map[string]string{}
		for _, s := range psc.Sysctls {
			cfg.Linux.Sysctls[s.Name] = s.Value
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			cfg.PortMappings = append(cfg.PortMappings, &runtimeapi.PortMapping{
				Protocol:      protocol(p.Protocol),
				ContainerPort: p.ContainerPort,
				HostPort:      p.HostPort,
				HostIp:        p.HostIP,
			})
		}
	}
	return cfg
}

func protocol(p corev1.Protocol) runtimeapi.Protocol {
	switch p {
	case corev1.ProtocolUDP:
		return runtimeapi.Protocol_UDP
	case corev1.ProtocolSCTP:
		return runtimeapi.Protocol_SCTP
	}
	return runtimeapi.Protocol_TCP
}

// containerConfig describes one run of a container to the runtime.
// Command and args get $(VAR) references to the container's environment expanded.
func containerConfig(pod *corev1.Pod, c *corev1.Container, start Start, env []corev1.EnvVar, mounts []*runtimeapi.Mount) (*runtimeapi.ContainerConfig, error) {
	vars := envMap(env)
	cfg := &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: start.Attempt},
		Image:      &runtimeapi.ImageSpec{Image: c.Image},
		Command:    expandAll(c.Command, vars),
		Args:       expandAll(c.Args, vars),
		WorkingDir: c.WorkingDir,
		Mounts:     mounts,
		LogPath:    ContainerLogPath(c.Name, start.Attempt),
		Stdin:      c.Stdin,
		StdinOnce:  c.StdinOnce,
		Tty:        c.TTY,
		Labels: map[string]string{
			LabelPodUID: string(pod.UID), LabelPodName: pod.Name, LabelPodNamespace: pod.Namespace,
			LabelContainerName: c.Name, LabelContainerHash: HashContainer(c), LabelInit: strconv.FormatBool(start.Init),
		},
		Linux: &runtimeapi.LinuxContainerConfig{Resources: resources(c), SecurityContext: securityContext(pod, c)},
	}
	for _, e := range env {
		cfg.Envs = append(cfg.Envs, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(e.Value)})
	}
	sc := cfg.Linux.SecurityContext
	if nonRoot := runAsNonRoot(pod, c); nonRoot && sc.RunAsUser != nil && sc.RunAsUser.Value == 0 {
		return nil, &configError{msg: "container's runAsUser breaks non-root policy (pod: \"" + pod.Name + "_" + pod.Namespace + "(" + string(pod.UID) + ")\", container: " + c.Name + ")"}
	}
	return cfg, nil
}

func runAsNonRoot(pod *corev1.Pod, c *corev1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return *c.SecurityContext.RunAsNonRoot
	}
	return pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsNonRoot != nil && *pod.Spec.SecurityContext.RunAsNonRoot
}

// resources turns requests and limits into cgroup settings as upstream's kubelet does.
func resources(c *corev1.Container) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{CpuPeriod: 100000}
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		r.CpuShares = max(q.MilliValue()*1024/1000, 2)
	} else if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		r.CpuShares = max(q.MilliValue()*1024/1000, 2)
	} else {
		r.CpuShares = 2
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		r.CpuQuota = max(q.MilliValue()*r.CpuPeriod/1000, 1000)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimitInBytes = q.Value()
	}
	return r
}

// namespaceOptions says which of the host's namespaces a pod uses (hostNetwork, hostIPC,
// hostPID); each container has a PID namespace of its own otherwise.
func namespaceOptions(pod *corev1.Pod) *runtimeapi.NamespaceOption {
	mode := func(host bool, own runtimeapi.NamespaceMode) runtimeapi.NamespaceMode {
		if host {
			return runtimeapi.NamespaceMode_NODE
		}
		return own
	}
	return &runtimeapi.NamespaceOption{
		Network: mode(pod.Spec.HostNetwork, runtimeapi.NamespaceMode_POD),
		Ipc:     mode(pod.Spec.HostIPC, runtimeapi.NamespaceMode_POD),
		Pid:     mode(pod.Spec.HostPID, runtimeapi.NamespaceMode_CONTAINER),
	}
}

func securityContext(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerSecurityContext {
	sc := &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: namespaceOptions(pod)}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = psc.SupplementalGroups
		if psc.FSGroup != nil { // the group that owns the pod's volumes, as upstream
			sc.SupplementalGroups = append(append([]int64{}, psc.SupplementalGroups...), *psc.FSGroup)
		}
	}
	csc := c.SecurityContext
	if csc == nil {
		return sc
	}
	if csc.RunAsUser != nil {
		sc.RunAsUser = &runtimeapi.Int64Value{Value: *csc.RunAsUser}
	}
	if csc.RunAsGroup != nil {
		sc.RunAsGroup = &runtimeapi.Int64Value{Value: *csc.RunAsGroup}
	}
	if csc.Privileged != nil {
		sc.Privileged = *csc.Privileged
	}
	if csc.ReadOnlyRootFilesystem != nil {
		sc.ReadonlyRootfs = *csc.ReadOnlyRootFilesystem
	}
	if csc.AllowPrivilegeEscalation != nil {
		sc.NoNewPrivs = !*csc.AllowPrivilegeEscalation
	}
	if caps := csc.Capabilities; caps != nil {
		sc.Capabilities = &runtimeapi.Capability{}
		for _, a := range caps.Add {
			sc.Capabilities.AddCapabilities = append(sc.Capabilities.AddCapabilities, string(a))
		}
		for _, d := range caps.Drop {
			sc.Capabilities.DropCapabilities = append(sc.Capabilities.DropCapabilities, string(d))
		}
	}
	return sc
}

// describe returns "namespace/name" of a pod, for messages.
func describe(pod *corev1.Pod) string { return fmt.Sprintf("%s/%s", pod.Namespace, pod.Name) }

// oomScoreAdj is the OOM score adjustment of a container's processes, as upstream's
// kubelet sets it: node-critical and Guaranteed pods -997, BestEffort 1000, and
// Burstable by the share of the node's memory the container requests (between 3 and
// 999; a sidecar no higher than the pod's regular container that requests least).
func oomScoreAdj(pod *corev1.Pod, c *corev1.Container, memCapacity int64) int64 {
	const guaranteed, bestEffort = -997, 1000
	class := pod.Status.QOSClass
	if class == "" {
		class = qos.GetPodQOS(pod)
	}
	switch {
	case pod.Spec.PriorityClassName == "system-node-critical", class == corev1.PodQOSGuaranteed:
		return guaranteed
	case class == corev1.PodQOSBestEffort, memCapacity <= 0:
		return bestEffort
	}
	score := func(req int64) int64 { return 1000 - 1000*req/memCapacity }
	adj := score(c.Resources.Requests.Memory().Value())
	if isSidecar(c) && isInit(pod, c) && len(pod.Spec.Containers) > 0 {
		least := pod.Spec.Containers[0].Resources.Requests.Memory().Value()
		for i := range pod.Spec.Containers[1:] {
			least = min(least, pod.Spec.Containers[i+1].Resources.Requests.Memory().Value())
		}
		adj = min(adj, score(least))
	}
	switch {
	case adj < 1000+guaranteed:
		return 1000 + guaranteed
	case adj == bestEffort:
		return bestEffort - 1
	}
	return adj
}
