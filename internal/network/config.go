package network

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Config describes the node's pod network.
type Config struct {
	// PodCIDR is the node's IPv4 range (10.42.0.0/24); pods get addresses from it and its
	// first address is the bridge's, the pods' gateway.
	PodCIDR string
	// ClusterCIDR is the IPv4 range of every node's pods (10.42.0.0/16). Traffic from this
	// node's pods to it keeps its source address instead of being masqueraded. Empty: all
	// traffic leaving the pod CIDR is masqueraded.
	ClusterCIDR string
	// BridgeName is the host bridge the pods attach to; "cni0" when empty.
	BridgeName string
	// MTU of the bridge and the pods' interfaces; 0 leaves the plugin's default.
	MTU int
	// BinDirs are searched, in order, for the CNI plugins; ["/usr/lib/cni", "/opt/cni/bin"]
	// when empty.
	BinDirs []string
	// StateDir holds the host-local address allocations and libcni's cache of results;
	// both must survive an agent restart for Teardown to release what Setup took.
	StateDir string
	// Logger receives plugin stderr and teardown warnings; nothing is logged when nil.
	Logger *slog.Logger
}

// ErrNotInstalled is the category of New's error when a CNI plugin or iptables is missing.
var ErrNotInstalled = errors.New("network prerequisites not installed")

// ErrInvalidConfig is the category of New's error for a Config it cannot use.
var ErrInvalidConfig = errors.New("invalid network config")

// networkName names the CNI network: host-local keeps its allocations under
// StateDir/ipam/<networkName>, and the plugins name their iptables rules with it.
const networkName = "podium"

// loopbackName names the loopback attachment that podium ran as a plugin until lo was
// brought up in-process; Teardown still removes its record from libcni's cache.
const loopbackName = "podium-loopback"

// cniVersion is the newest spec version Debian's plugins (1.1.1) speak.
const cniVersion = "1.0.0"

// requiredPlugins are the plugin binaries New insists on.
var requiredPlugins = []string{"bridge", "host-local", "portmap"}

// settings is a Config with defaults applied and its ranges parsed.
type settings struct {
	Config
	podCIDR     netip.Prefix
	clusterCIDR netip.Prefix // invalid when Config.ClusterCIDR is empty
}

// ipamDir and cacheDir are where host-local and libcni keep their state.
func (s *settings) ipamDir() string  { return filepath.Join(s.StateDir, "ipam") }
func (s *settings) cacheDir() string { return filepath.Join(s.StateDir, "cache") }

// resolve applies the defaults and checks cfg without touching the host.
func resolve(cfg Config) (*settings, error) {
	s := &settings{Config: cfg}
	if s.BridgeName == "" {
		s.BridgeName = "cni0"
	}
	if len(s.BinDirs) == 0 {
		s.BinDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}

	var err error
	if s.podCIDR, err = parseIPv4Prefix(cfg.PodCIDR); err != nil {
		return nil, fmt.Errorf("%w: PodCIDR: %v", ErrInvalidConfig, err)
	}
	if cfg.PodCIDR != s.podCIDR.String() {
		return nil, fmt.Errorf("%w: PodCIDR %q has host bits set (want %s)", ErrInvalidConfig, cfg.PodCIDR, s.podCIDR)
	}
	if s.podCIDR.Bits() > 30 {
		return nil, fmt.Errorf("%w: PodCIDR %s leaves no address for a pod", ErrInvalidConfig, s.podCIDR)
	}
	if cfg.ClusterCIDR != "" {
		if s.clusterCIDR, err = parseIPv4Prefix(cfg.ClusterCIDR); err != nil {
			return nil, fmt.Errorf("%w: ClusterCIDR: %v", ErrInvalidConfig, err)
		}
		if s.clusterCIDR.Bits() > s.podCIDR.Bits() || !s.clusterCIDR.Contains(s.podCIDR.Addr()) {
			return nil, fmt.Errorf("%w: PodCIDR %s is not inside ClusterCIDR %s", ErrInvalidConfig, s.podCIDR, s.clusterCIDR)
		}
	}
	if n := len(s.BridgeName); n > 15 || strings.ContainsAny(s.BridgeName, "/ \t\n:") {
		return nil, fmt.Errorf("%w: BridgeName %q is not a valid interface name (at most 15 characters, no '/', ':' or spaces)", ErrInvalidConfig, s.BridgeName)
	}
	if s.MTU < 0 || (s.MTU > 0 && s.MTU < 68) {
		return nil, fmt.Errorf("%w: MTU %d (want 0 for the default, or at least 68)", ErrInvalidConfig, s.MTU)
	}
	if !filepath.IsAbs(s.StateDir) {
		return nil, fmt.Errorf("%w: StateDir %q must be an absolute path", ErrInvalidConfig, s.StateDir)
	}
	return s, nil
}

func parseIPv4Prefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%s is not an IPv4 range", s)
	}
	return p.Masked(), nil
}

// checkInstalled reports every missing plugin and iptables in one error.
func checkInstalled(s *settings) error {
	var missing []string
	for _, name := range requiredPlugins {
		if findPlugin(s.BinDirs, name) == "" {
			missing = append(missing, name)
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("CNI plugins %s not found in %s; install them with `apt-get install containernetworking-plugins` (or put them in one of those directories)",
			strings.Join(missing, ", "), strings.Join(s.BinDirs, ", ")))
	}
	// Portmap and the node-wide masquerade rules run iptables from PATH.
	if _, err := exec.LookPath("iptables"); err != nil {
		problems = append(problems, "iptables not found in PATH; install it with `apt-get install iptables`")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrNotInstalled, strings.Join(problems, "; "))
	}
	return nil
}

// findPlugin returns the path of the first executable regular file called name in dirs.
func findPlugin(dirs []string, name string) string {
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}
