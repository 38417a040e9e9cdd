package runc

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// specInput is everything buildSpec needs; the caller has done the IO (image config,
// user lookup in the rootfs, device nodes).
type specInput struct {
	Config  *runtimeapi.ContainerConfig
	Sandbox *runtimeapi.PodSandboxConfig
	Image   v1.Config
	User    specs.User

	Hostname string
	// Files shared by the pod's containers; "" leaves the mount out.
	HostsPath, ResolvPath, HostnamePath, ShmPath string
	// Namespace files to join; "" shares the host's namespace.
	NetNS, IPCNS, UTSNS string
	// PIDNS is a PID namespace to join (a target container's); "" makes a new one
	// unless HostPID.
	PIDNS   string
	HostPID bool

	CgroupsPath string
	// AllCaps is what "all capabilities" means (privileged, or ALL added): the
	// capabilities this process may pass on; nil for allCapabilities.
	AllCaps []string
	// Devices are device nodes to create, with cgroup rules allowing them: the host's
	// for a privileged container, plus the CRI config's devices.
	Devices     []specs.LinuxDevice
	DeviceRules []specs.LinuxDeviceCgroup
}

// defaultPath is the PATH of a container whose image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultCapabilities are Docker's and containerd's default capabilities.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities are the capabilities of Linux up to 6.x, in number order.
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Docker's default masked and read-only paths.
var (
	defaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	defaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// containerArgs merges the CRI command and args with the image's entrypoint and cmd as
// containerd does: a command replaces the entrypoint and the image's cmd; args alone
// replace the image's cmd.
func containerArgs(cfg *runtimeapi.ContainerConfig, img v1.Config) ([]string, error) {
	var args []string
	switch {
	case len(cfg.GetCommand()) > 0:
		args = append(append(args, cfg.GetCommand()...), cfg.GetArgs()...)
	case len(cfg.GetArgs()) > 0:
		args = append(append(args, img.Entrypoint...), cfg.GetArgs()...)
	default:
		args = append(append(args, img.Entrypoint...), img.Cmd...)
	}
	if len(args) == 0 {
		return nil, errors.New("no command: neither the container nor its image has one")
	}
	return args, nil
}

// containerEnv is HOSTNAME, then the image's environment, then the CRI config's; a
// later value of a name replaces an earlier one in place. PATH is added when nobody
// sets it.
func containerEnv(hostname string, image []string, cfg []*runtimeapi.KeyValue) []string {
	var env []string
	index := map[string]int{}
	set := func(kv string) {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := index[name]; ok {
			env[i] = kv
			return
		}
		index[name] = len(env)
		env = append(env, kv)
	}
	if hostname != "" {
		set("HOSTNAME=" + hostname)
	}
	for _, kv := range image {
		set(kv)
	}
	for _, kv := range cfg {
		set(kv.GetKey() + "=" + string(kv.GetValue()))
	}
	if _, ok := index["PATH"]; !ok {
		env = append([]string{defaultPath}, env...)
	}
	return env
}

// capabilities applies a CRI security context to the default set as containerd does:
// ALL in add gives every capability, ALL in drop removes every one, then the named
// ones are added and dropped.
func capabilities(sc *runtimeapi.LinuxContainerSecurityContext, all []string) []string {
	if all == nil {
		all = allCapabilities
	}
	if sc.GetPrivileged() {
		return append([]string(nil), all...)
	}
	caps := append([]string(nil), defaultCapabilities...)
	add, drop := sc.GetCapabilities().GetAddCapabilities(), sc.GetCapabilities().GetDropCapabilities()
	if containsFold(add, "ALL") {
		caps = append([]string(nil), all...)
	}
	if containsFold(drop, "ALL") {
		caps = nil
	}
	for _, c := range add {
		if c = capName(c); c != "CAP_ALL" && !contains(caps, c) {
			caps = append(caps, c)
		}
	}
	for _, c := range drop {
		c = capName(c)
		caps = remove(caps, c)
	}
	return caps
}

// boundingCapabilities returns the names of the capabilities in a CapBnd mask of
// /proc/PID/status.
func boundingCapabilities(mask uint64) []string {
	var out []string
	for i, name := range allCapabilities {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, name)
		}
	}
	return out
}

func capName(c string) string {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// stopSignal is the container's stop signal: the CRI config's, else the image's,
// else SIGTERM.
func stopSignal(cfg *runtimeapi.ContainerConfig, img v1.Config) (int, error) {
	if s := cfg.GetStopSignal(); s != runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
		return parseSignal(strings.TrimPrefix(s.String(), "SIGNAL_"))
	}
	if img.StopSignal != "" {
		return parseSignal(img.StopSignal)
	}
	return signalNumbers["SIGTERM"], nil
}

// signalNumbers are Linux's signal numbers by name (x86 and arm).
var signalNumbers = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
	"SIGIOT": 6, "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11,
	"SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16,
	"SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20,
	"SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25,
	"SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29,
	"SIGPWR": 30, "SIGSYS": 31, "SIGRTMIN": 34,
}

// parseSignal parses "SIGTERM", "TERM", "15" or "SIGRTMIN+3".
func parseSignal(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return n, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for _, prefix := range []string{"SIGRTMIN+", "SIGRTMINPLUS"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 && 34+n <= 64 {
				return 34 + n, nil
			}
		}
	}
	for _, prefix := range []string{"SIGRTMAX-", "SIGRTMAXMINUS"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 && 64-n >= 34 {
				return 64 - n, nil
			}
		}
	}
	if name == "SIGRTMAX" {
		return 64, nil
	}
	if n, ok := signalNumbers[name]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// buildSpec makes a container's OCI runtime spec. It does no IO.
func buildSpec(in specInput) (*specs.Spec, error) {
	cfg := in.Config
	sc := cfg.GetLinux().GetSecurityContext()
	privileged := sc.GetPrivileged()

	args, err := containerArgs(cfg, in.Image)
	if err != nil {
		return nil, err
	}
	cwd := cfg.GetWorkingDir()
	if cwd == "" {
		cwd = in.Image.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return nil, fmt.Errorf("working directory %q is not absolute", cwd)
	}

	caps := capabilities(sc, in.AllCaps)
	proc := &specs.Process{
		Terminal: cfg.GetTty(),
		User:     in.User,
		Args:     args,
		Env:      containerEnv(in.Hostname, in.Image.Env, cfg.GetEnvs()),
		Cwd:      cwd,
		Capabilities: &specs.LinuxCapabilities{
			Bounding:  caps,
			Effective: caps,
			Permitted: caps,
		},
		NoNewPrivileges: sc.GetNoNewPrivs(),
	}
	if ambient := sc.GetCapabilities().GetAddAmbientCapabilities(); len(ambient) > 0 {
		for _, c := range ambient {
			c = capName(c)
			proc.Capabilities.Ambient = append(proc.Capabilities.Ambient, c)
			proc.Capabilities.Inheritable = append(proc.Capabilities.Inheritable, c)
		}
	}
	if res := cfg.GetLinux().GetResources(); res != nil && res.GetOomScoreAdj() != 0 {
		adj := int(res.GetOomScoreAdj())
		proc.OOMScoreAdj = &adj
	}

	readonlyRoot := sc.GetReadonlyRootfs()
	spec := &specs.Spec{
		Version: specs.Version,
		Process: proc,
		Root:    &specs.Root{Path: "rootfs", Readonly: readonlyRoot},
		Mounts:  containerMounts(in, privileged, readonlyRoot),
		Linux: &specs.Linux{
			CgroupsPath: in.CgroupsPath,
			Resources:   resources(cfg.GetLinux().GetResources(), privileged, in.DeviceRules),
			Devices:     in.Devices,
			Sysctl:      in.Sandbox.GetLinux().GetSysctls(),
		},
	}
	if len(spec.Linux.Sysctl) == 0 {
		spec.Linux.Sysctl = nil
	}

	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	switch {
	case in.PIDNS != "":
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: in.PIDNS})
	case !in.HostPID:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	if in.NetNS != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: in.NetNS})
	}
	if in.IPCNS != "" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: in.IPCNS})
	}
	if in.UTSNS != "" {
		// The pod's hostname was set when its UTS namespace was made.
		ns = append(ns, specs.LinuxNamespace{Type: specs.UTSNamespace, Path: in.UTSNS})
	}
	spec.Linux.Namespaces = ns

	if !privileged {
		spec.Linux.MaskedPaths = sc.GetMaskedPaths()
		if len(spec.Linux.MaskedPaths) == 0 {
			spec.Linux.MaskedPaths = defaultMaskedPaths
		}
		spec.Linux.ReadonlyPaths = sc.GetReadonlyPaths()
		if len(spec.Linux.ReadonlyPaths) == 0 {
			spec.Linux.ReadonlyPaths = defaultReadonlyPaths
		}
	}
	for _, m := range cfg.GetMounts() {
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			spec.Linux.RootfsPropagation = "rshared"
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			if spec.Linux.RootfsPropagation == "" {
				spec.Linux.RootfsPropagation = "rslave"
			}
		}
	}
	return spec, nil
}

// containerMounts are the kernel filesystems every container has, the pod's shared
// files, and the CRI mounts, which replace any of the others at the same path.
func containerMounts(in specInput, privileged, readonlyRoot bool) []specs.Mount {
	ro := func(b bool) string {
		if b {
			return "ro"
		}
		return "rw"
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", ro(!privileged)}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", ro(!privileged)}},
	}
	bind := func(dst, src string, extra ...string) {
		if src != "" {
			mounts = append(mounts, specs.Mount{Destination: dst, Type: "bind", Source: src,
				Options: append([]string{"rbind", "rprivate"}, extra...)})
		}
	}
	bind("/etc/hosts", in.HostsPath, ro(readonlyRoot))
	bind("/etc/resolv.conf", in.ResolvPath, ro(readonlyRoot))
	bind("/etc/hostname", in.HostnamePath, ro(readonlyRoot))
	bind("/dev/shm", in.ShmPath, "nosuid", "nodev", "noexec", "rw")

	user := append([]*runtimeapi.Mount(nil), in.Config.GetMounts()...)
	// Parents before children, whatever order the CRI config lists them in.
	sort.SliceStable(user, func(i, j int) bool {
		return depth(user[i].GetContainerPath()) < depth(user[j].GetContainerPath())
	})
	taken := map[string]bool{}
	for _, m := range user {
		taken[path.Clean(m.GetContainerPath())] = true
	}
	kept := mounts[:0]
	for _, m := range mounts {
		if !taken[m.Destination] {
			kept = append(kept, m)
		}
	}
	mounts = kept
	for _, m := range user {
		opts := []string{"rbind"}
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			opts = append(opts, "rshared")
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			opts = append(opts, "rslave")
		default:
			opts = append(opts, "rprivate")
		}
		switch {
		case m.GetReadonly() && m.GetRecursiveReadOnly():
			opts = append(opts, "rro")
		case m.GetReadonly():
			opts = append(opts, "ro")
		default:
			opts = append(opts, "rw")
		}
		mounts = append(mounts, specs.Mount{
			Destination: path.Clean(m.GetContainerPath()),
			Type:        "bind",
			Source:      m.GetHostPath(),
			Options:     opts,
		})
	}
	return mounts
}

func depth(p string) int {
	p = path.Clean(p)
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// resources are the container's cgroup settings: memory limit, CPU shares, quota and
// period, cpusets, a pids limit from the unified key "pids.max", and device rules.
func resources(r *runtimeapi.LinuxContainerResources, privileged bool, deviceRules []specs.LinuxDeviceCgroup) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if privileged {
		out.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	} else {
		// runc appends the devices every container may use (null, zero, tty, ...).
		out.Devices = append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, deviceRules...)
	}
	if r == nil {
		return out
	}
	if v := r.GetMemoryLimitInBytes(); v > 0 {
		out.Memory = &specs.LinuxMemory{Limit: &v}
		if s := r.GetMemorySwapLimitInBytes(); s > 0 {
			out.Memory.Swap = &s
		}
	}
	cpu := &specs.LinuxCPU{Cpus: r.GetCpusetCpus(), Mems: r.GetCpusetMems()}
	if v := r.GetCpuShares(); v > 0 {
		u := uint64(v)
		cpu.Shares = &u
	}
	if v := r.GetCpuQuota(); v > 0 {
		cpu.Quota = &v
	}
	if v := r.GetCpuPeriod(); v > 0 {
		u := uint64(v)
		cpu.Period = &u
	}
	if cpu.Shares != nil || cpu.Quota != nil || cpu.Period != nil || cpu.Cpus != "" || cpu.Mems != "" {
		out.CPU = cpu
	}
	if v, ok := r.GetUnified()["pids.max"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			out.Pids = &specs.LinuxPids{Limit: &n}
		}
	}
	return out
}
