package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/podium/podium/internal/netnstest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSyncRoutes runs in a network namespace of its own, so the host's routes are never
// touched.
func TestSyncRoutes(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "podroutes-" + hex.EncodeToString(b)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	netnstest.Add(t, ns)
	run("netns", "exec", ns, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	run("netns", "exec", ns, "ip", "link", "set", "d1", "up")
	run("netns", "exec", ns, "ip", "addr", "add", "192.0.2.1/24", "dev", "d0")
	run("netns", "exec", ns, "ip", "link", "set", "d0", "up")
	// A route podium did not add stays.
	run("netns", "exec", ns, "ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.9")

	ctx := context.Background()
	if err := syncRoutes(ctx, ns, map[string]string{"10.42.1.0/24": "192.0.2.2", "10.42.2.0/24": "192.0.2.3"}); err != nil {
		t.Fatal(err)
	}
	routes := run("netns", "exec", ns, "ip", "route")
	for _, want := range []string{"10.42.1.0/24 via 192.0.2.2", "10.42.2.0/24 via 192.0.2.3", "198.51.100.0/24 via 192.0.2.9"} {
		if !strings.Contains(routes, want) {
			t.Fatalf("routes lack %q:\n%s", want, routes)
		}
	}
	// A node moves and another goes: its route changes, the other's goes.
	if err := syncRoutes(ctx, ns, map[string]string{"10.42.1.0/24": "192.0.2.4"}); err != nil {
		t.Fatal(err)
	}
	routes = run("netns", "exec", ns, "ip", "route")
	if !strings.Contains(routes, "10.42.1.0/24 via 192.0.2.4") || strings.Contains(routes, "10.42.2.0/24") || !strings.Contains(routes, "198.51.100.0/24") {
		t.Fatalf("after the change:\n%s", routes)
	}
	if err := syncRoutes(ctx, ns, map[string]string{"bad": "192.0.2.4"}); err == nil {
		t.Fatal("a bad CIDR was accepted")
	}
}
