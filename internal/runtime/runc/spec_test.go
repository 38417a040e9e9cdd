package runc

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/mountinfo"
)

func TestContainerArgs(t *testing.T) {
	img := v1.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"--default"}}
	tests := []struct {
		name    string
		cmd     []string
		args    []string
		img     v1.Config
		want    []string
		wantErr bool
	}{
		{name: "image only", img: img, want: []string{"/entry", "--default"}},
		{name: "args replace cmd", args: []string{"--x"}, img: img, want: []string{"/entry", "--x"}},
		{name: "command replaces both", cmd: []string{"/bin/sh"}, img: img, want: []string{"/bin/sh"}},
		{name: "command and args", cmd: []string{"/bin/sh"}, args: []string{"-c", "true"}, img: img, want: []string{"/bin/sh", "-c", "true"}},
		{name: "cmd without entrypoint", img: v1.Config{Cmd: []string{"sh"}}, want: []string{"sh"}},
		{name: "nothing", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := containerArgs(&runtimeapi.ContainerConfig{Command: tt.cmd, Args: tt.args}, tt.img)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerEnv(t *testing.T) {
	tests := []struct {
		name  string
		image []string
		cfg   map[string]string
		want  []string
	}{
		{
			name:  "config overrides image in place",
			image: []string{"PATH=/bin", "A=1", "B=2"},
			cfg:   map[string]string{"A": "x"},
			want:  []string{"HOSTNAME=h", "PATH=/bin", "A=x", "B=2"},
		},
		{
			name: "default PATH",
			cfg:  map[string]string{"C": "3"},
			want: []string{defaultPath, "HOSTNAME=h", "C=3"},
		},
		{
			name:  "image may set HOSTNAME",
			image: []string{"HOSTNAME=img", "PATH=/usr/bin"},
			want:  []string{"HOSTNAME=img", "PATH=/usr/bin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kvs []*runtimeapi.KeyValue
			for k, v := range tt.cfg {
				kvs = append(kvs, &runtimeapi.KeyValue{Key: k, Value: []byte(v)})
			}
			if diff := cmp.Diff(tt.want, containerEnv("h", tt.image, kvs)); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name string
		sc   *runtimeapi.LinuxContainerSecurityContext
		want []string
	}{
		{name: "default", want: defaultCapabilities},
		{name: "privileged", sc: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}, want: allCapabilities},
		{
			name: "drop all, add one",
			sc: &runtimeapi.LinuxContainerSecurityContext{Capabilities: &runtimeapi.Capability{
				DropCapabilities: []string{"ALL"}, AddCapabilities: []string{"net_bind_service"},
			}},
			want: []string{"CAP_NET_BIND_SERVICE"},
		},
		{
			name: "add and drop",
			sc: &runtimeapi.LinuxContainerSecurityContext{Capabilities: &runtimeapi.Capability{
				AddCapabilities: []string{"SYS_ADMIN"}, DropCapabilities: []string{"CAP_CHOWN", "KILL"},
			}},
			want: []string{"CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
				"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
				"CAP_SYS_CHROOT", "CAP_AUDIT_WRITE", "CAP_SYS_ADMIN"},
		},
		{
			name: "add all",
			sc:   &runtimeapi.LinuxContainerSecurityContext{Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"ALL"}}},
			want: allCapabilities,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, capabilities(tt.sc, nil)); diff != "" {
				t.Errorf("capabilities (-want +got):\n%s", diff)
			}
		})
	}
	// The defaults are not modified by a drop.
	capabilities(&runtimeapi.LinuxContainerSecurityContext{Capabilities: &runtimeapi.Capability{DropCapabilities: []string{"CHOWN"}}}, nil)
	if defaultCapabilities[0] != "CAP_CHOWN" {
		t.Errorf("defaultCapabilities changed: %v", defaultCapabilities)
	}
}

func TestBoundingCapabilities(t *testing.T) {
	got := boundingCapabilities(0x000001fffeffffff)
	if len(got) != len(allCapabilities)-1 || contains(got, "CAP_SYS_RESOURCE") {
		t.Errorf("bounding set without bit 24: %v", got)
	}
	all := boundingCapabilities(0x000001fffeffffff)
	if got := capabilities(&runtimeapi.LinuxContainerSecurityContext{Privileged: true}, all); contains(got, "CAP_SYS_RESOURCE") {
		t.Errorf("privileged got a capability the runtime lacks")
	}
}

func TestStopSignal(t *testing.T) {
	tests := []struct {
		name    string
		cri     runtimeapi.Signal
		image   string
		want    int
		wantErr bool
	}{
		{name: "default", want: 15},
		{name: "image name", image: "SIGQUIT", want: 3},
		{name: "image short name", image: "int", want: 2},
		{name: "image number", image: "10", want: 10},
		{name: "image realtime", image: "SIGRTMIN+3", want: 37},
		{name: "cri wins", cri: runtimeapi.Signal_SIGNAL_SIGUSR1, image: "SIGQUIT", want: 10},
		{name: "cri realtime", cri: runtimeapi.Signal_SIGNAL_SIGRTMINPLUS2, want: 36},
		{name: "unknown", image: "SIGNOPE", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stopSignal(&runtimeapi.ContainerConfig{StopSignal: tt.cri}, v1.Config{StopSignal: tt.image})
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("stopSignal = %d, %v; want %d (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestResolveUser(t *testing.T) {
	passwd := parsePasswd(strings.NewReader("root:x:0:0::/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nbroken:x:y:z\n"))
	group := parseGroup(strings.NewReader("root:x:0:\nappgrp:x:1001:\nwheel:x:10:app,other\ndocker:x:999:app\n"))
	i64 := func(v int64) *runtimeapi.Int64Value { return &runtimeapi.Int64Value{Value: v} }
	tests := []struct {
		name      string
		sc        *runtimeapi.LinuxContainerSecurityContext
		imageUser string
		want      specs.User
		wantErr   bool
	}{
		{name: "root by default", want: specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0}}},
		{name: "image user name", imageUser: "app", want: specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{1001, 10, 999}}},
		{name: "image uid with passwd entry", imageUser: "1000", want: specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{1001, 10, 999}}},
		{name: "image uid:gid", imageUser: "5:6", want: specs.User{UID: 5, GID: 6, AdditionalGids: []uint32{6}}},
		{name: "image name:group", imageUser: "app:wheel", want: specs.User{UID: 1000, GID: 10, AdditionalGids: []uint32{10, 999}}},
		{name: "unknown image user", imageUser: "nobody", wantErr: true},
		{name: "unknown image group", imageUser: "app:nogroup", wantErr: true},
		{name: "RunAsUser beats the image", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(2000)}, imageUser: "app:wheel",
			want: specs.User{UID: 2000, GID: 0, AdditionalGids: []uint32{0}}},
		{name: "RunAsUser and RunAsGroup", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000), SupplementalGroups: []int64{4000}},
			want: specs.User{UID: 1000, GID: 3000, AdditionalGids: []uint32{3000, 10, 999, 4000}}},
		{name: "RunAsUsername", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "app"}, imageUser: "0",
			want: specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{1001, 10, 999}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveUser(userInput{SecurityContext: tt.sc, ImageUser: tt.imageUser, Passwd: passwd, Group: group})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
		})
	}
}

func baseSpecInput() specInput {
	return specInput{
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c"},
			Command:  []string{"sh"},
		},
		Sandbox:      &runtimeapi.PodSandboxConfig{Linux: &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}}},
		Image:        v1.Config{WorkingDir: "/work", Env: []string{"PATH=/bin"}},
		Hostname:     "pod",
		HostsPath:    "/sb/hosts",
		ResolvPath:   "/sb/resolv.conf",
		HostnamePath: "/sb/hostname",
		ShmPath:      "/sb/shm",
		NetNS:        "/sb/ns/net",
		IPCNS:        "/sb/ns/ipc",
		UTSNS:        "/sb/ns/uts",
		CgroupsPath:  "/podium/poduid/cid",
	}
}

func destinations(ms []specs.Mount) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Destination)
	}
	return out
}

func TestBuildSpecDefaults(t *testing.T) {
	spec, err := buildSpec(baseSpecInput())
	if err != nil {
		t.Fatal(err)
	}
	if spec.Process.Cwd != "/work" || spec.Process.Terminal || spec.Process.NoNewPrivileges || spec.Process.ApparmorProfile != "" {
		t.Errorf("process %+v", spec.Process)
	}
	if diff := cmp.Diff(defaultCapabilities, spec.Process.Capabilities.Bounding); diff != "" {
		t.Errorf("bounding capabilities (-want +got):\n%s", diff)
	}
	wantNS := []specs.LinuxNamespace{
		{Type: specs.MountNamespace}, {Type: specs.PIDNamespace},
		{Type: specs.NetworkNamespace, Path: "/sb/ns/net"},
		{Type: specs.IPCNamespace, Path: "/sb/ns/ipc"},
		{Type: specs.UTSNamespace, Path: "/sb/ns/uts"},
	}
	if diff := cmp.Diff(wantNS, spec.Linux.Namespaces); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	wantMounts := []string{"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
		"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/dev/shm"}
	if diff := cmp.Diff(wantMounts, destinations(spec.Mounts)); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if spec.Mounts[4].Options[3] != "ro" {
		t.Errorf("/sys is not read-only: %v", spec.Mounts[4].Options)
	}
	if diff := cmp.Diff(defaultMaskedPaths, spec.Linux.MaskedPaths); diff != "" {
		t.Errorf("masked paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(defaultReadonlyPaths, spec.Linux.ReadonlyPaths); diff != "" {
		t.Errorf("read-only paths (-want +got):\n%s", diff)
	}
	if spec.Linux.CgroupsPath != "/podium/poduid/cid" || spec.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("linux %+v", spec.Linux)
	}
	if d := spec.Linux.Resources.Devices; len(d) != 1 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device rules %+v, want deny all", d)
	}
	if spec.Hostname != "" {
		t.Errorf("hostname %q set although the UTS namespace is joined", spec.Hostname)
	}
}

func TestBuildSpecOptions(t *testing.T) {
	in := baseSpecInput()
	in.NetNS, in.UTSNS = "", ""
	in.HostPID = true
	in.Config.Tty = true
	in.Config.WorkingDir = "/override"
	in.Config.Mounts = []*runtimeapi.Mount{
		{ContainerPath: "/data/sub", HostPath: "/h/sub", Readonly: true},
		{ContainerPath: "/etc/hosts/", HostPath: "/h/hosts"},
		{ContainerPath: "/data", HostPath: "/h/data", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
	}
	in.Config.Linux = &runtimeapi.LinuxContainerConfig{
		SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true, ReadonlyRootfs: true, NoNewPrivs: true},
		Resources: &runtimeapi.LinuxContainerResources{
			MemoryLimitInBytes: 1 << 30, CpuShares: 256, CpuQuota: 20000, CpuPeriod: 100000, OomScoreAdj: 500,
		},
	}
	spec, err := buildSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Process.Terminal || spec.Process.Cwd != "/override" || !spec.Process.NoNewPrivileges || *spec.Process.OOMScoreAdj != 500 {
		t.Errorf("process %+v", spec.Process)
	}
	if !spec.Root.Readonly {
		t.Errorf("root is not read-only")
	}
	wantNS := []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.IPCNamespace, Path: "/sb/ns/ipc"}}
	if diff := cmp.Diff(wantNS, spec.Linux.Namespaces); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	wantMounts := []string{"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
		"/etc/resolv.conf", "/etc/hostname", "/dev/shm", "/data", "/data/sub", "/etc/hosts"}
	if diff := cmp.Diff(wantMounts, destinations(spec.Mounts)); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	byDest := map[string]specs.Mount{}
	for _, m := range spec.Mounts {
		byDest[m.Destination] = m
	}
	if diff := cmp.Diff([]string{"rbind", "rprivate", "ro"}, byDest["/data/sub"].Options); diff != "" {
		t.Errorf("/data/sub options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rbind", "rslave", "rw"}, byDest["/data"].Options); diff != "" {
		t.Errorf("/data options (-want +got):\n%s", diff)
	}
	if byDest["/etc/hosts"].Source != "/h/hosts" || byDest["/etc/resolv.conf"].Options[2] != "ro" {
		t.Errorf("pod files %+v %+v", byDest["/etc/hosts"], byDest["/etc/resolv.conf"])
	}
	if byDest["/sys"].Options[3] != "rw" {
		t.Errorf("privileged /sys is not writable: %v", byDest["/sys"].Options)
	}
	if spec.Linux.RootfsPropagation != "rslave" {
		t.Errorf("rootfs propagation %q", spec.Linux.RootfsPropagation)
	}
	if len(spec.Linux.MaskedPaths) != 0 || len(spec.Linux.ReadonlyPaths) != 0 {
		t.Errorf("privileged container has masked %v read-only %v", spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths)
	}
	if diff := cmp.Diff(allCapabilities, spec.Process.Capabilities.Effective); diff != "" {
		t.Errorf("privileged capabilities (-want +got):\n%s", diff)
	}
	res := spec.Linux.Resources
	if *res.Memory.Limit != 1<<30 || *res.CPU.Shares != 256 || *res.CPU.Quota != 20000 || *res.CPU.Period != 100000 {
		t.Errorf("resources %+v %+v", res.Memory, res.CPU)
	}
	if len(res.Devices) != 1 || !res.Devices[0].Allow {
		t.Errorf("privileged device rules %+v", res.Devices)
	}
}

func TestBuildSpecErrors(t *testing.T) {
	in := baseSpecInput()
	in.Config.Command = nil
	if _, err := buildSpec(in); err == nil {
		t.Errorf("no command: no error")
	}
	in = baseSpecInput()
	in.Config.WorkingDir = "relative"
	if _, err := buildSpec(in); err == nil {
		t.Errorf("relative working directory: no error")
	}
}

func TestSandboxFiles(t *testing.T) {
	hosts := string(hostsFile("web-0", "10.42.0.7"))
	if !strings.HasPrefix(hosts, "127.0.0.1\tlocalhost\n") || !strings.HasSuffix(hosts, "10.42.0.7\tweb-0\n") {
		t.Errorf("hosts:\n%s", hosts)
	}
	host := []byte("nameserver 1.1.1.1\n")
	tests := []struct {
		name string
		dns  *runtimeapi.DNSConfig
		want string
	}{
		{name: "none", want: "nameserver 1.1.1.1\n"},
		{name: "empty", dns: &runtimeapi.DNSConfig{}, want: "nameserver 1.1.1.1\n"},
		{
			name: "cluster",
			dns:  &runtimeapi.DNSConfig{Servers: []string{"10.43.0.10"}, Searches: []string{"ns.svc.cluster.local", "svc.cluster.local"}, Options: []string{"ndots:5"}},
			want: "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(resolvConf(tt.dns, host)); got != tt.want {
				t.Errorf("resolv.conf %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := mountinfo.Unescape(`/a\040b\011c`); got != "/a b\tc" {
		t.Errorf("unescapeMount = %q", got)
	}
}
