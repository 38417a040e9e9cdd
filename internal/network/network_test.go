package network

// Tests against the real plugins. Each test makes its own bridge ("podtest" + random hex),
// network namespaces ("podtest-" + random hex) and 10.244.21x.0 range, sends traffic only
// between those namespaces, its bridge's address and (one test) a namespace of its own
// behind a veth with 198.51.100.0/30, and removes all of them, the rules
// the plugins made for its sandbox IDs, and the bridge when it ends.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/podium/podium/internal/netnstest"
)

// requirePrerequisites fails under CI=true, and skips otherwise, unless the test runs as
// root with the plugins and the iproute2 and iptables programs installed.
func requirePrerequisites(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, p := range requiredPlugins {
		if findPlugin([]string{"/usr/lib/cni", "/opt/cni/bin"}, p) == "" {
			missing = append(missing, "CNI plugin "+p+" (apt-get install containernetworking-plugins)")
		}
	}
	for _, prog := range []string{"ip", "iptables", "iptables-save", "iptables-restore"} {
		if _, err := exec.LookPath(prog); err != nil {
			missing = append(missing, prog)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing prerequisites: %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing prerequisites: %s", strings.Join(missing, ", "))
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testEnv is one test's pod network.
type testEnv struct {
	cfg     Config
	net     Network
	gateway net.IP

	mu  sync.Mutex // guards ids
	ids []string   // every sandbox ID handed out, for cleanup
}

// requireUnused fails the test if an interface's network overlaps cidr: the test needs
// the range to itself.
func requireUnused(t *testing.T, cidr string) {
	t.Helper()
	prefix := netip.MustParsePrefix(cidr)
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ones, _ := ipn.Mask.Size()
			if ok && netip.PrefixFrom(ip.Unmap(), ones).Masked().Overlaps(prefix) {
				t.Fatalf("%s is in use by %s (%s); this test needs the range to itself", cidr, ifc.Name, ipn)
			}
		}
	}
}

// newTestEnv makes a Network on a new bridge for podCIDR, which no interface may use.
func newTestEnv(t *testing.T, podCIDR, clusterCIDR string) *testEnv {
	t.Helper()
	requirePrerequisites(t)
	requireUnused(t, podCIDR)
	prefix := netip.MustParsePrefix(podCIDR)

	cfg := Config{
		PodCIDR:     podCIDR,
		ClusterCIDR: clusterCIDR,
		BridgeName:  "podtest" + randomHex(t, 4),
		StateDir:    t.TempDir(),
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env := &testEnv{cfg: cfg, net: n, gateway: net.IP(prefix.Addr().Next().AsSlice())}
	forwarding, err := os.ReadFile(ipForward)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		env.cleanup(t)
		restoreIPForward(t, string(forwarding))
	})
	return env
}

// ipForward is the sysctl the bridge plugin turns on.
const ipForward = "/proc/sys/net/ipv4/ip_forward"

// restoreIPForward turns forwarding back off if it was off before the test and no bridge
// that might have turned it on for someone else is left on the host.
func restoreIPForward(t *testing.T, before string) {
	t.Helper()
	if strings.TrimSpace(before) != "0" {
		return
	}
	bridges, _ := filepath.Glob("/sys/class/net/*/bridge")
	if len(bridges) > 0 {
		t.Logf("cleanup: leaving %s on: bridges %q remain", ipForward, bridges)
		return
	}
	if err := os.WriteFile(ipForward, []byte("0"), 0o644); err != nil {
		t.Errorf("cleanup: restoring %s: %v", ipForward, err)
	}
}

// cleanup runs after the namespaces are gone (cleanups run last-registered first).
func (e *testEnv) cleanup(t *testing.T) {
	ctx := context.Background()
	e.mu.Lock()
	ids := slices.Clone(e.ids)
	e.mu.Unlock()
	for _, id := range ids {
		if err := e.net.Teardown(ctx, Pod{ID: id}, "", nil); err != nil {
			t.Errorf("cleanup: teardown %s: %v", id, err)
		}
	}
	removeRulesNaming(t, ids)
	if err := RemoveNodeNetwork(ctx, e.cfg); err != nil {
		t.Errorf("cleanup: RemoveNodeNetwork: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", e.cfg.BridgeName)); err == nil {
		t.Errorf("cleanup: bridge %s is still there; deleting it", e.cfg.BridgeName)
		exec.Command("ip", "link", "delete", e.cfg.BridgeName).Run()
	}
}

// pod returns a Pod with a new sandbox ID.
func (e *testEnv) pod(t *testing.T, name string) Pod {
	id := "podtest-" + randomHex(t, 8) + "-" + name
	e.mu.Lock()
	e.ids = append(e.ids, id)
	e.mu.Unlock()
	return Pod{ID: id, Namespace: "test", Name: name, UID: randomHex(t, 8)}
}

// hostRules counts the node-wide rules of the test's network that are in place.
func (e *testEnv) hostRules(t *testing.T) int {
	t.Helper()
	s, err := resolve(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rule := range hostRules(s) {
		ok, err := iptablesHasRule(t.Context(), "nat", "POSTROUTING", rule)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			n++
		}
	}
	return n
}

// ipamFile is host-local's record that ip is taken.
func (e *testEnv) ipamFile(ip net.IP) string {
	return filepath.Join(e.cfg.StateDir, "ipam", networkName, ip.String())
}

// bridgePorts lists the interfaces attached to the test bridge.
func (e *testEnv) bridgePorts(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("/sys/class/net", e.cfg.BridgeName, "brif"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// addNetNS makes a network namespace and returns its path; it is deleted when the test
// ends, unless the test deleted it first.
func addNetNS(t *testing.T) (path string) {
	t.Helper()
	return netnstest.Add(t, "podtest-"+randomHex(t, 6))
}

func deleteNetNS(t *testing.T, path string) {
	t.Helper()
	run(t, "ip", "netns", "delete", filepath.Base(path))
}

// serve listens on addr inside the namespace at nsPath ("" for the host's) and answers
// every connection with reply; it returns the address it listens on.
func serve(t *testing.T, nsPath, addr, reply string) net.Addr {
	t.Helper()
	var l net.Listener
	listen := func() (err error) { l, err = net.Listen("tcp4", addr); return err }
	var err error
	if nsPath == "" {
		err = listen()
	} else {
		err = inNetNS(nsPath, listen)
	}
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if reply == "" {
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				c.Write([]byte(host))
			} else {
				c.Write([]byte(reply))
			}
			c.Close()
		}
	}()
	return l.Addr()
}

// fetch connects to addr from the namespace at nsPath ("" for the host's) and returns
// what the server sent.
func fetch(nsPath, addr string) (string, error) {
	var c net.Conn
	dial := func() (err error) { c, err = net.DialTimeout("tcp4", addr, 3*time.Second); return err }
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = inNetNS(nsPath, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// iptablesLines returns the iptables-save lines (every table) that contain s.
func iptablesLines(t *testing.T, s string) []string {
	t.Helper()
	var lines []string
	for line := range strings.Lines(run(t, "iptables-save")) {
		if strings.Contains(line, s) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

// idComment is how the plugins name a sandbox in their rules' comments.
func idComment(id string) string { return `id: \"` + id + `\"` }

// jumpTargets returns the CNI- chains that rules jump to.
func jumpTargets(rules []string) []string {
	var chains []string
	for _, r := range rules {
		f := strings.Fields(r)
		if i := slices.Index(f, "-j"); i >= 0 && i+1 < len(f) && strings.HasPrefix(f[i+1], "CNI-") && !strings.HasPrefix(f[i+1], "CNI-HOSTPORT-") {
			chains = append(chains, f[i+1])
		}
	}
	return chains
}

// chainExists reports whether iptables-save declares chain in any table.
func chainExists(t *testing.T, chain string) bool {
	t.Helper()
	return len(iptablesLines(t, ":"+chain+" ")) > 0
}

// removeRulesNaming deletes, in every table, the rules whose comment names one of ids and
// the CNI- chains they jump to: whatever a failed test left.
func removeRulesNaming(t *testing.T, ids []string) {
	t.Helper()
	deletes := map[string][]string{} // by table
	chains := map[string][]string{}  // by table
	table := ""
	for line := range strings.Lines(run(t, "iptables-save")) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "*") {
			table = line[1:]
			continue
		}
		for _, id := range ids {
			if strings.HasPrefix(line, "-A ") && strings.Contains(line, idComment(id)) {
				deletes[table] = append(deletes[table], "-D "+line[len("-A "):])
				chains[table] = append(chains[table], jumpTargets([]string{line})...)
			}
		}
	}
	for table, lines := range deletes {
		var b strings.Builder
		b.WriteString("*" + table + "\n")
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		for _, c := range slices.Compact(slices.Sorted(slices.Values(chains[table]))) {
			b.WriteString("-F " + c + "\n-X " + c + "\n")
		}
		b.WriteString("COMMIT\n")
		t.Logf("cleanup: removing leftover rules:\n%s", b.String())
		cmd := exec.Command("iptables-restore", "-w", "--noflush")
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("cleanup: iptables-restore: %v: %s", err, out)
		}
	}
}

func TestPodNetwork(t *testing.T) {
	env := newTestEnv(t, "10.244.213.0/24", "10.244.212.0/23")
	ctx := t.Context()
	nsA, nsB := addNetNS(t), addNetNS(t)
	podA, podB := env.pod(t, "a"), env.pod(t, "b")
	hostPort := int32(30000 + time.Now().UnixNano()%20000)
	portsA := []PortMapping{{HostPort: hostPort, ContainerPort: 8080, Protocol: "TCP", HostIP: env.gateway.String()}}

	resA, err := env.net.Setup(ctx, podA, nsA, portsA)
	if err != nil {
		t.Fatalf("Setup a: %v", err)
	}
	resB, err := env.net.Setup(ctx, podB, nsB, nil)
	if err != nil {
		t.Fatalf("Setup b: %v", err)
	}
	t.Logf("a: %v, b: %v", resA, resB)

	t.Run("addresses", func(t *testing.T) {
		prefix := netip.MustParsePrefix(env.cfg.PodCIDR)
		for _, r := range []Result{resA, resB} {
			ip, _ := netip.AddrFromSlice(r.IP)
			if !prefix.Contains(ip) || ip == prefix.Addr().Next() {
				t.Errorf("pod IP %v is not a pod address in %s", r.IP, prefix)
			}
			if !r.Gateway.Equal(env.gateway) {
				t.Errorf("gateway = %v, want %v", r.Gateway, env.gateway)
			}
			if _, err := os.Stat(env.ipamFile(r.IP)); err != nil {
				t.Errorf("host-local has no record of %v: %v", r.IP, err)
			}
		}
		if resA.IP.Equal(resB.IP) {
			t.Errorf("both pods got %v", resA.IP)
		}
		if got := env.bridgePorts(t); len(got) != 2 {
			t.Errorf("bridge ports = %v, want two veths", got)
		}
	})

	t.Run("loopback is up", func(t *testing.T) {
		err := inNetNS(nsA, func() error {
			lo, err := net.InterfaceByName("lo")
			if err != nil {
				return err
			}
			if lo.Flags&net.FlagUp == 0 {
				return fmt.Errorf("lo is down: %v", lo.Flags)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		addr := serve(t, nsA, "127.0.0.1:0", "lo")
		if got, err := fetch(nsA, addr.String()); err != nil || got != "lo" {
			t.Errorf("fetch %s inside the pod = %q, %v", addr, got, err)
		}
	})

	t.Run("pod to pod keeps its source", func(t *testing.T) {
		addr := net.JoinHostPort(resB.IP.String(), "9090")
		serve(t, nsB, addr, "")
		if got, err := fetch(nsA, addr); err != nil || got != resA.IP.String() {
			t.Errorf("a: fetch %s = %q, %v; want a's address %s", addr, got, err, resA.IP)
		}
	})

	t.Run("traffic leaving the cluster is masqueraded", func(t *testing.T) {
		// "Outside" is a namespace of this test behind a veth on the host, which knows
		// no route to the pods: only a masqueraded connection gets an answer.
		requireUnused(t, "198.51.100.0/30")
		outside := addNetNS(t)
		hostEnd := "podtestout" + randomHex(t, 2)
		run(t, "ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", filepath.Base(outside))
		t.Cleanup(func() { exec.Command("ip", "link", "delete", hostEnd).Run() })
		run(t, "ip", "addr", "add", "198.51.100.1/30", "dev", hostEnd)
		run(t, "ip", "link", "set", hostEnd, "up")
		for _, args := range [][]string{{"addr", "add", "198.51.100.2/30", "dev", "eth0"}, {"link", "set", "eth0", "up"}} {
			run(t, "ip", append([]string{"-n", filepath.Base(outside)}, args...)...)
		}
		serve(t, outside, "198.51.100.2:9191", "")
		if got, err := fetch(nsB, "198.51.100.2:9191"); err != nil || got != "198.51.100.1" {
			t.Errorf("b: fetch 198.51.100.2:9191 = %q, %v; want the host's address 198.51.100.1", got, err)
		}
	})

	t.Run("pod to gateway", func(t *testing.T) {
		// A listener on the host, bound to the bridge's address only.
		addr := serve(t, "", net.JoinHostPort(env.gateway.String(), "0"), "from host")
		if got, err := fetch(nsB, addr.String()); err != nil || got != "from host" {
			t.Errorf("b: fetch %s = %q, %v", addr, got, err)
		}
	})

	t.Run("hostPort", func(t *testing.T) {
		serve(t, nsA, ":8080", "from a")
		addr := net.JoinHostPort(env.gateway.String(), fmt.Sprint(hostPort))
		if got, err := fetch("", addr); err != nil || got != "from a" {
			t.Errorf("host: fetch %s = %q, %v; want %q", addr, got, err, "from a")
		}
		// Hairpin: the pod reaches its own hostPort.
		if got, err := fetch(nsA, addr); err != nil || got != "from a" {
			t.Errorf("a: fetch %s = %q, %v; want %q", addr, got, err, "from a")
		}
	})

	t.Run("node rules", func(t *testing.T) {
		if got := env.hostRules(t); got != 2 {
			t.Errorf("%d of the node's 2 masquerade rules present", got)
		}
	})

	t.Run("node teardown refuses a busy bridge", func(t *testing.T) {
		err := RemoveNodeNetwork(ctx, env.cfg)
		if err == nil || !strings.Contains(err.Error(), "still has ports") {
			t.Errorf("RemoveNodeNetwork with pods attached = %v", err)
		}
		if got := env.hostRules(t); got != 2 {
			t.Errorf("after the refused RemoveNodeNetwork: %d of the node's 2 masquerade rules present", got)
		}
	})

	rulesA := iptablesLines(t, idComment(podA.ID))
	chainsA := jumpTargets(rulesA)
	if len(rulesA) == 0 || len(chainsA) != 1 {
		t.Fatalf("after setup: rules for a = %q, want its hostPort rules", rulesA)
	}
	if rulesB := iptablesLines(t, idComment(podB.ID)); len(rulesB) != 0 {
		t.Fatalf("after setup: rules for b = %q, want none (b has no hostPort; the node masquerades)", rulesB)
	}

	t.Run("teardown", func(t *testing.T) {
		if err := env.net.Teardown(ctx, podA, nsA, portsA); err != nil {
			t.Fatalf("Teardown a: %v", err)
		}
		if got := iptablesLines(t, idComment(podA.ID)); len(got) > 0 {
			t.Errorf("rules naming a after teardown: %q", got)
		}
		for _, c := range chainsA {
			if chainExists(t, c) {
				t.Errorf("chain %s of a is still there", c)
			}
		}
		if _, err := os.Stat(env.ipamFile(resA.IP)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("host-local still holds %v: %v", resA.IP, err)
		}
		if err := inNetNS(nsA, func() error { _, err := net.InterfaceByName("eth0"); return err }); err == nil {
			t.Error("eth0 is still in a's namespace")
		}
		if got := env.bridgePorts(t); len(got) != 1 {
			t.Errorf("bridge ports = %v, want b's veth only", got)
		}
		if err := env.net.Teardown(ctx, podA, nsA, portsA); err != nil {
			t.Errorf("second Teardown a: %v", err)
		}
	})

	t.Run("teardown after the namespace is gone", func(t *testing.T) {
		deleteNetNS(t, nsB)
		if err := env.net.Teardown(ctx, podB, nsB, nil); err != nil {
			t.Fatalf("Teardown b: %v", err)
		}
		if _, err := os.Stat(env.ipamFile(resB.IP)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("host-local still holds %v: %v", resB.IP, err)
		}
		if err := env.net.Teardown(ctx, podB, nsB, nil); err != nil {
			t.Errorf("second Teardown b: %v", err)
		}
	})

	t.Run("node teardown", func(t *testing.T) {
		if err := RemoveNodeNetwork(ctx, env.cfg); err != nil {
			t.Fatalf("RemoveNodeNetwork: %v", err)
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", env.cfg.BridgeName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("bridge %s is still there: %v", env.cfg.BridgeName, err)
		}
		if got := env.hostRules(t); got != 0 {
			t.Errorf("%d of the node's masquerade rules left", got)
		}
		if err := RemoveNodeNetwork(ctx, env.cfg); err != nil {
			t.Errorf("second RemoveNodeNetwork: %v", err)
		}
	})
}

// TestTeardownLeftovers leaves two pods attached, as an agent that was killed does, one
// with its namespace still there and one without, and checks that TeardownLeftovers
// releases both so that RemoveNodeNetwork then removes the bridge.
func TestTeardownLeftovers(t *testing.T) {
	env := newTestEnv(t, "10.244.216.0/24", "")
	ctx := t.Context()
	nsA, nsB := addNetNS(t), addNetNS(t)
	podA, podB := env.pod(t, "a"), env.pod(t, "b")
	resA, err := env.net.Setup(ctx, podA, nsA, []PortMapping{{HostPort: 18090, ContainerPort: 80, Protocol: "TCP"}})
	if err != nil {
		t.Fatalf("Setup a: %v", err)
	}
	resB, err := env.net.Setup(ctx, podB, nsB, nil)
	if err != nil {
		t.Fatalf("Setup b: %v", err)
	}
	deleteNetNS(t, nsB)

	if err := TeardownLeftovers(ctx, env.cfg); err != nil {
		t.Fatalf("TeardownLeftovers: %v", err)
	}
	for _, id := range []string{podA.ID, podB.ID} {
		if got := iptablesLines(t, idComment(id)); len(got) > 0 {
			t.Errorf("rules naming %s after TeardownLeftovers: %q", id, got)
		}
	}
	for _, ip := range []net.IP{resA.IP, resB.IP} {
		if _, err := os.Stat(env.ipamFile(ip)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("host-local still holds %v: %v", ip, err)
		}
	}
	if err := RemoveNodeNetwork(ctx, env.cfg); err != nil {
		t.Fatalf("RemoveNodeNetwork after TeardownLeftovers: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", env.cfg.BridgeName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bridge %s is still there: %v", env.cfg.BridgeName, err)
	}
	if err := TeardownLeftovers(ctx, env.cfg); err != nil {
		t.Errorf("second TeardownLeftovers: %v", err)
	}
}

// TestTeardownOfAnOlderSandbox attaches two pods as an older podium did, with a bridge
// that masqueraded through a chain per pod and the loopback plugin, and checks that
// today's Teardown removes those chains and loopback's record too: with the namespace
// there (DEL runs with the cached conflist) and gone (by the chains' comments).
func TestTeardownOfAnOlderSandbox(t *testing.T) {
	env := newTestEnv(t, "10.244.217.0/24", "")
	ctx := t.Context()
	s, err := resolve(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := podNetworkConf(s, true)
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	conf["plugins"].([]any)[0].(map[string]any)["ipMasq"] = true
	if b, err = json.Marshal(conf); err != nil {
		t.Fatal(err)
	}
	older, err := New(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if older.(*cniNetwork).pod, err = libcni.NetworkConfFromBytes(b); err != nil {
		t.Fatal(err)
	}
	for _, nsGone := range []bool{false, true} {
		pod, ns := env.pod(t, fmt.Sprint("gone-", nsGone)), addNetNS(t)
		if _, err := older.Setup(ctx, pod, ns, nil); err != nil {
			t.Fatalf("older Setup: %v", err)
		}
		on := older.(*cniNetwork)
		loRT := on.loRuntimeConf(pod, ns)
		if _, err := on.cni.AddNetwork(ctx, on.lo, loRT); err != nil {
			t.Fatalf("the older loopback ADD: %v", err)
		}
		if res, err := on.cni.GetNetworkCachedResult(on.lo, loRT); err != nil || res == nil {
			t.Fatalf("libcni has no record of the loopback ADD: %v %v", res, err)
		}
		chains := jumpTargets(iptablesLines(t, idComment(pod.ID)))
		if len(chains) != 1 {
			t.Fatalf("the older bridge made chains %q, want one to masquerade", chains)
		}
		if nsGone {
			deleteNetNS(t, ns)
		}
		if err := env.net.Teardown(ctx, pod, ns, nil); err != nil {
			t.Fatalf("Teardown (namespace gone %v): %v", nsGone, err)
		}
		if got := iptablesLines(t, idComment(pod.ID)); len(got) > 0 || chainExists(t, chains[0]) {
			t.Errorf("namespace gone %v: after Teardown, rules %q and chain %s left", nsGone, got, chains[0])
		}
		if res, err := on.cni.GetNetworkCachedResult(on.lo, loRT); err != nil || res != nil {
			t.Errorf("namespace gone %v: after Teardown, libcni still has the loopback record: %v %v", nsGone, res, err)
		}
	}
}

// TestAddressReuse fills a /29 (five pod addresses), checks that a sixth Setup fails and
// leaves nothing behind, and that a torn-down pod's address goes to the next pod.
func TestAddressReuse(t *testing.T) {
	env := newTestEnv(t, "10.244.215.0/29", "")
	ctx := t.Context()
	type attached struct {
		pod  Pod
		ns   string
		addr net.IP
	}
	var pods []attached
	for i := range 5 {
		p, ns := env.pod(t, fmt.Sprint("p", i)), addNetNS(t)
		res, err := env.net.Setup(ctx, p, ns, nil)
		if err != nil {
			t.Fatalf("Setup %d: %v", i, err)
		}
		pods = append(pods, attached{p, ns, res.IP})
	}

	extra, extraNS := env.pod(t, "extra"), addNetNS(t)
	if res, err := env.net.Setup(ctx, extra, extraNS, nil); err == nil {
		t.Fatalf("Setup of a sixth pod in a /29 = %v, want an error", res)
	} else {
		t.Logf("sixth Setup: %v", err)
	}
	if err := inNetNS(extraNS, func() error { _, err := net.InterfaceByName("eth0"); return err }); err == nil {
		t.Error("the failed Setup left eth0 in the namespace")
	}
	if got := env.bridgePorts(t); len(got) != 5 {
		t.Errorf("bridge ports after the failed Setup = %v, want 5", got)
	}
	if got := iptablesLines(t, idComment(extra.ID)); len(got) > 0 {
		t.Errorf("rules naming the failed pod: %q", got)
	}

	freed := pods[2]
	if err := env.net.Teardown(ctx, freed.pod, freed.ns, nil); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	res, err := env.net.Setup(ctx, extra, extraNS, nil)
	if err != nil {
		t.Fatalf("Setup after a teardown: %v", err)
	}
	if !res.IP.Equal(freed.addr) {
		t.Errorf("new pod got %v, want the freed %v", res.IP, freed.addr)
	}

	for _, p := range append(pods[:2:2], append(pods[3:], attached{extra, extraNS, res.IP})...) {
		if err := env.net.Teardown(ctx, p.pod, p.ns, nil); err != nil {
			t.Errorf("Teardown %s: %v", p.pod.Name, err)
		}
	}
	if got := env.bridgePorts(t); len(got) != 0 {
		t.Errorf("bridge ports after every teardown = %v", got)
	}
}

// TestParallel attaches and detaches pods concurrently, each with a hostPort.
func TestParallel(t *testing.T) {
	env := newTestEnv(t, "10.244.214.0/24", "10.244.214.0/24")
	ctx := t.Context()
	const n = 8
	base := int32(30000 + time.Now().UnixNano()%20000)
	pods := make([]Pod, n)
	nss := make([]string, n)
	ports := make([][]PortMapping, n)
	for i := range n {
		pods[i], nss[i] = env.pod(t, fmt.Sprint("p", i)), addNetNS(t)
		ports[i] = []PortMapping{{HostPort: base + int32(i), ContainerPort: 80, HostIP: env.gateway.String()}}
	}

	results := make([]Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = env.net.Setup(ctx, pods[i], nss[i], ports[i]) })
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Setup %d: %v", i, errs[i])
			continue
		}
		if ip := results[i].IP.String(); seen[ip] {
			t.Errorf("two pods got %s", ip)
		} else {
			seen[ip] = true
		}
	}
	if t.Failed() {
		return
	}

	// Every pod is reachable on its hostPort.
	for i := range n {
		serve(t, nss[i], ":80", pods[i].Name)
		addr := net.JoinHostPort(env.gateway.String(), fmt.Sprint(ports[i][0].HostPort))
		if got, err := fetch("", addr); err != nil || got != pods[i].Name {
			t.Errorf("fetch %s = %q, %v; want %q", addr, got, err, pods[i].Name)
		}
	}

	for i := range n {
		wg.Go(func() { errs[i] = env.net.Teardown(ctx, pods[i], nss[i], ports[i]) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Teardown %d: %v", i, errs[i])
		}
		if got := iptablesLines(t, idComment(pods[i].ID)); len(got) > 0 {
			t.Errorf("rules naming %s after teardown: %q", pods[i].Name, got)
		}
	}
	entries, err := os.ReadDir(filepath.Join(env.cfg.StateDir, "ipam", networkName))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			t.Errorf("host-local still holds %s", e.Name())
		}
	}
}
