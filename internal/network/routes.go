package network

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"sort"
	"strings"
)

// routeProto marks the routes podium adds, so that it can find them again after a
// restart and leave every other route alone (a number from the range iproute2 leaves
// free; /etc/iproute2/rt_protos has no name for it).
const routeProto = "166"

// SyncRoutes makes this host's routes to other nodes' pod CIDRs match want (pod CIDR →
// the node's address), host-gw style: it adds or changes what is missing and removes
// the routes it added earlier that want no longer has. Other routes are not touched.
func SyncRoutes(ctx context.Context, want map[string]string) error {
	return syncRoutes(ctx, "", want)
}

// ipCmd runs ip(8), inside the named network namespace when netns is set (tests).
func ipCmd(ctx context.Context, netns string, args ...string) *exec.Cmd {
	if netns != "" {
		args = append([]string{"netns", "exec", netns, "ip"}, args...)
	}
	return exec.CommandContext(ctx, "ip", args...)
}

func syncRoutes(ctx context.Context, netns string, want map[string]string) error {
	have, err := listRoutes(ctx, netns)
	if err != nil {
		return err
	}
	var errs []string
	for cidr, via := range want {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs = append(errs, fmt.Sprintf("pod CIDR %q: %v", cidr, err))
			continue
		}
		if _, err := netip.ParseAddr(via); err != nil {
			errs = append(errs, fmt.Sprintf("node address %q: %v", via, err))
			continue
		}
		if have[cidr] == via {
			continue
		}
		if out, err := ipCmd(ctx, netns, "-4", "route", "replace", cidr, "via", via, "proto", routeProto).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("route %s via %s: %v: %s", cidr, via, err, strings.TrimSpace(string(out))))
		}
	}
	for cidr := range have {
		if _, ok := want[cidr]; ok {
			continue
		}
		if out, err := ipCmd(ctx, netns, "-4", "route", "del", cidr, "proto", routeProto).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("removing route %s: %v: %s", cidr, err, strings.TrimSpace(string(out))))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("node routes: %s", strings.Join(errs, "; "))
	}
	return nil
}

// listRoutes returns the routes podium added: destination → gateway.
func listRoutes(ctx context.Context, netns string) (map[string]string, error) {
	out, err := ipCmd(ctx, netns, "-4", "route", "show", "proto", routeProto).Output()
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	have := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "via" {
			have[f[0]] = f[2]
		}
	}
	return have, nil
}
