package network

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	types100 "github.com/containernetworking/cni/pkg/types/100"
)

func TestResolve(t *testing.T) {
	valid := Config{PodCIDR: "10.42.0.0/24", ClusterCIDR: "10.42.0.0/16", StateDir: "/var/lib/podium/cni"}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" for success
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "no cluster CIDR", edit: func(c *Config) { c.ClusterCIDR = "" }},
		{name: "missing pod CIDR", edit: func(c *Config) { c.PodCIDR = "" }, wantErr: "PodCIDR"},
		{name: "IPv6 pod CIDR", edit: func(c *Config) { c.PodCIDR = "fd00::/64" }, wantErr: "not an IPv4 range"},
		{name: "host bits", edit: func(c *Config) { c.PodCIDR = "10.42.0.1/24" }, wantErr: "host bits"},
		{name: "too small", edit: func(c *Config) { c.PodCIDR = "10.42.0.0/31" }, wantErr: "no address"},
		{name: "pod CIDR outside cluster", edit: func(c *Config) { c.ClusterCIDR = "10.43.0.0/16" }, wantErr: "not inside ClusterCIDR"},
		{name: "cluster narrower than pod", edit: func(c *Config) { c.ClusterCIDR = "10.42.0.0/25" }, wantErr: "not inside ClusterCIDR"},
		{name: "long bridge name", edit: func(c *Config) { c.BridgeName = "a-bridge-name-too-long" }, wantErr: "BridgeName"},
		{name: "negative MTU", edit: func(c *Config) { c.MTU = -1 }, wantErr: "MTU"},
		{name: "relative state dir", edit: func(c *Config) { c.StateDir = "cni" }, wantErr: "StateDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			s, err := resolve(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("resolve: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("resolve = %v, %v; want an ErrInvalidConfig mentioning %q", s, err, tt.wantErr)
			}
		})
	}
}

func TestResolveDefaults(t *testing.T) {
	s, err := resolve(Config{PodCIDR: "10.42.0.0/24", StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	if s.BridgeName != "cni0" {
		t.Errorf("BridgeName = %q, want cni0", s.BridgeName)
	}
	if want := []string{"/usr/lib/cni", "/opt/cni/bin"}; !reflect.DeepEqual(s.BinDirs, want) {
		t.Errorf("BinDirs = %q, want %q", s.BinDirs, want)
	}
	if s.Logger == nil {
		t.Error("Logger is nil")
	}
	if s.ipamDir() != "/state/ipam" || s.cacheDir() != "/state/cache" {
		t.Errorf("ipamDir, cacheDir = %q, %q", s.ipamDir(), s.cacheDir())
	}
}

// fakeBin writes executable scripts called names into a new directory.
func fakeBin(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestNewReportsMissingPrerequisites(t *testing.T) {
	t.Setenv("PATH", fakeBin(t, "iptables"))
	half := fakeBin(t, "bridge")
	notExecutable := t.TempDir()
	if err := os.WriteFile(filepath.Join(notExecutable, "portmap"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{PodCIDR: "10.244.0.0/24", StateDir: t.TempDir(), BinDirs: []string{half, notExecutable}})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("New = %v, want ErrNotInstalled", err)
	}
	for _, want := range []string{"host-local, portmap", half, notExecutable, "apt-get install containernetworking-plugins"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "iptables") {
		t.Errorf("error %q mentions iptables, which is on PATH", err)
	}

	t.Setenv("PATH", t.TempDir())
	all := fakeBin(t, requiredPlugins...)
	_, err = New(Config{PodCIDR: "10.244.0.0/24", StateDir: t.TempDir(), BinDirs: []string{all}})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install iptables") {
		t.Fatalf("New without iptables = %v, want ErrNotInstalled naming iptables", err)
	}
}

// newFakeNetwork returns a Network whose plugins and iptables are scripts that fail.
func newFakeNetwork(t *testing.T) Network {
	t.Helper()
	t.Setenv("PATH", fakeBin(t, "iptables"))
	n, err := New(Config{PodCIDR: "10.244.0.0/24", StateDir: t.TempDir(), BinDirs: []string{fakeBin(t, requiredPlugins...)}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSetupRejectsBadArguments(t *testing.T) {
	n := newFakeNetwork(t)
	ctx := context.Background()
	notNS := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(notNS, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pod     Pod
		netns   string
		ports   []PortMapping
		wantErr string
	}{
		{name: "no ID", pod: Pod{Namespace: "ns", Name: "p"}, netns: "/proc/self/ns/net", wantErr: "no sandbox ID"},
		{name: "not a namespace", pod: Pod{ID: "abc"}, netns: notNS, wantErr: "not a network namespace"},
		{name: "missing namespace", pod: Pod{ID: "abc"}, netns: notNS + "-missing", wantErr: "not a network namespace"},
		{name: "bad protocol", pod: Pod{ID: "abc"}, netns: "/proc/self/ns/net", ports: []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "ICMP"}}, wantErr: "unknown protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.Setup(ctx, tt.pod, tt.netns, tt.ports)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Setup = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
	if err := n.Teardown(ctx, Pod{Name: "p"}, "", nil); err == nil || !strings.Contains(err.Error(), "no sandbox ID") {
		t.Fatalf("Teardown without ID = %v", err)
	}
}

func TestPodNetworkConf(t *testing.T) {
	s, err := resolve(Config{PodCIDR: "10.42.3.0/24", BridgeName: "br-test", MTU: 1450, StateDir: "/data/cni"})
	if err != nil {
		t.Fatal(err)
	}
	const bridge = `{"type": "bridge", "bridge": "br-test", "isGateway": true, "hairpinMode": true, "mtu": 1450,
		"ipam": {"type": "host-local", "ranges": [[{"subnet": "10.42.3.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/data/cni/ipam"}}`
	const portmap = `{"type": "portmap", "capabilities": {"portMappings": true}, "snat": true, "markMasqBit": 13}`
	for withPortmap, plugins := range map[bool]string{false: bridge, true: bridge + "," + portmap} {
		b, err := podNetworkConf(s, withPortmap)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal([]byte(`{"cniVersion": "1.0.0", "name": "podium", "plugins": [`+plugins+`]}`), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("conflist (portmap %v) =\n%s\nwant\n%s", withPortmap, b, mustJSON(t, want))
		}
		if masquerades(b) {
			t.Errorf("conflist (portmap %v): the bridge masquerades on its own", withPortmap)
		}
	}
	if !masquerades([]byte(`{"plugins": [{"type": "bridge", "ipMasq": true}, {"type": "portmap"}]}`)) {
		t.Error("masquerades misses an older conflist's ipMasq")
	}

	s.MTU = 0
	if b, _ := podNetworkConf(s, true); strings.Contains(string(b), "mtu") {
		t.Errorf("MTU 0 should leave mtu out: %s", b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCapabilityArgs(t *testing.T) {
	tests := []struct {
		name    string
		ports   []PortMapping
		want    map[string]any
		wantErr string
	}{
		{name: "none", want: nil},
		{name: "only container ports", ports: []PortMapping{{ContainerPort: 80}}, want: nil},
		{
			name: "protocols and host IP",
			ports: []PortMapping{
				{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"},
				{HostPort: 5353, ContainerPort: 53, Protocol: "UDP", HostIP: "10.0.0.1"},
				{HostPort: 9000, ContainerPort: 9000},
				{ContainerPort: 443},
			},
			want: map[string]any{"portMappings": []portMapEntry{
				{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
				{HostPort: 5353, ContainerPort: 53, Protocol: "udp", HostIP: "10.0.0.1"},
				{HostPort: 9000, ContainerPort: 9000, Protocol: "tcp"},
			}},
		},
		{name: "bad protocol", ports: []PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "icmp"}}, wantErr: "unknown protocol"},
		{name: "host port out of range", ports: []PortMapping{{HostPort: -1, ContainerPort: 1}}, wantErr: "out of range"},
		{name: "no container port", ports: []PortMapping{{HostPort: 80}}, wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := capabilityArgs(tt.ports)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("capabilityArgs = %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("capabilityArgs = %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
	// The JSON is what portmap reads.
	got, _ := capabilityArgs([]PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"}})
	if s, want := mustJSON(t, got), `{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}`; s != want {
		t.Errorf("JSON = %s, want %s", s, want)
	}
}

func TestCNIArgs(t *testing.T) {
	got := cniArgs(Pod{ID: "sb1", Namespace: "default", Name: "web", UID: "u-1"})
	want := [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "default"}, {"K8S_POD_NAME", "web"}, {"K8S_POD_INFRA_CONTAINER_ID", "sb1"}, {"K8S_POD_UID", "u-1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cniArgs = %q, want %q", got, want)
	}
	if got := cniArgs(Pod{ID: "sb1"}); len(got) != 2 {
		t.Errorf("empty values should be left out: %q", got)
	}
}

func TestPodResult(t *testing.T) {
	idx := func(i int) *int { return &i }
	ipnet := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return *n
	}
	res := &types100.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*types100.Interface{
			{Name: "cni0"},
			{Name: "veth1234"},
			{Name: "eth0", Sandbox: "/run/netns/x"},
		},
		IPs: []*types100.IPConfig{
			{Interface: idx(0), Address: ipnet("10.42.0.1/24")},
			{Interface: idx(2), Address: ipnet("fd00::5/64"), Gateway: net.ParseIP("fd00::1")},
			{Interface: idx(2), Address: ipnet("10.42.0.5/24"), Gateway: net.ParseIP("10.42.0.1")},
		},
	}
	got, err := podResult(res)
	if err != nil {
		t.Fatal(err)
	}
	if got.IP.String() != "10.42.0.5" || got.Gateway.String() != "10.42.0.1" {
		t.Errorf("podResult = %v, want 10.42.0.5 via 10.42.0.1", got)
	}

	res.IPs = res.IPs[:2]
	if _, err := podResult(res); err == nil {
		t.Error("podResult of a result without a pod IPv4 address: no error")
	}
}

func TestIsNetNS(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"":                  false,
		file:                false,
		file + "-missing":   false,
		"/proc/self/ns/net": true,
		"/proc/self/status": false,
	} {
		if got := isNetNS(path); got != want {
			t.Errorf("isNetNS(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestKeyedMutex(t *testing.T) {
	var k keyedMutex
	unlockA := k.lock("a")

	// Another key is not held up.
	done := make(chan struct{})
	go func() { k.lock("b")(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("lock(b) waited for a")
	}

	// The same key waits.
	got := make(chan struct{})
	go func() { u := k.lock("a"); close(got); u() }()
	select {
	case <-got:
		t.Fatal("second lock(a) did not wait")
	case <-time.After(20 * time.Millisecond):
	}
	unlockA()
	<-got

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { k.lock("c")() })
	}
	wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.held) != 0 {
		t.Errorf("held = %v, want empty after every unlock", k.held)
	}
}

// natSave is iptables-save output with two pods of network "podium", one of another
// network, and portmap's chains.
const natSave = `# Generated by iptables-save v1.8.9 (nf_tables)
*filter
:INPUT ACCEPT [0:0]
-A INPUT -m comment --comment "name: \"podium\" id: \"sb-a\"" -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-0a1b2c3d4e5f60718293a4b5 - [0:0]
:CNI-DN-0a1b2c3d4e5f60718293a - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
:CNI-ffeeddccbbaa998877665544 - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A POSTROUTING -s 10.42.0.2/32 -m comment --comment "name: \"podium\" id: \"sb-a\"" -j CNI-0a1b2c3d4e5f60718293a4b5
-A POSTROUTING -s 10.42.0.3/32 -m comment --comment "name: \"podium\" id: \"sb-ab\"" -j CNI-ffeeddccbbaa998877665544
-A POSTROUTING -s 10.88.0.3/32 -m comment --comment "name: \"other\" id: \"sb-a\"" -j CNI-1111111111111111111111111
-A CNI-0a1b2c3d4e5f60718293a4b5 -d 10.42.0.0/24 -m comment --comment "name: \"podium\" id: \"sb-a\"" -j ACCEPT
-A CNI-0a1b2c3d4e5f60718293a4b5 ! -d 224.0.0.0/4 -m comment --comment "name: \"podium\" id: \"sb-a\"" -j MASQUERADE
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
`

func TestMasqueradeCleanup(t *testing.T) {
	want := `*nat
-D POSTROUTING -s 10.42.0.2/32 -m comment --comment "name: \"podium\" id: \"sb-a\"" -j CNI-0a1b2c3d4e5f60718293a4b5
-F CNI-0a1b2c3d4e5f60718293a4b5
-X CNI-0a1b2c3d4e5f60718293a4b5
COMMIT
`
	if got := masqueradeCleanup(natSave, "podium", "sb-a"); got != want {
		t.Errorf("masqueradeCleanup =\n%s\nwant\n%s", got, want)
	}
	if got := masqueradeCleanup(natSave, "podium", "sb-gone"); got != "" {
		t.Errorf("masqueradeCleanup for an unknown ID = %q, want \"\"", got)
	}
}

func TestPortmapCleanup(t *testing.T) {
	want := `*nat
-D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-X CNI-HOSTPORT-DNAT
-F CNI-HOSTPORT-MASQ
-X CNI-HOSTPORT-MASQ
-F CNI-HOSTPORT-SETMARK
-X CNI-HOSTPORT-SETMARK
COMMIT
`
	if got := portmapCleanup(natSave); got != want {
		t.Errorf("portmapCleanup =\n%s\nwant\n%s", got, want)
	}
	inUse := strings.Replace(natSave, "-A CNI-HOSTPORT-MASQ ", "-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 80 -j CNI-DN-0a1b2c3d4e5f60718293a\n-A CNI-HOSTPORT-MASQ ", 1)
	if got := portmapCleanup(inUse); got != "" {
		t.Errorf("portmapCleanup with a hostPort left = %q, want \"\"", got)
	}
	if got := portmapCleanup("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"); got != "" {
		t.Errorf("portmapCleanup without portmap chains = %q, want \"\"", got)
	}
}
