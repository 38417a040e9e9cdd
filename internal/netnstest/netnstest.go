// Package netnstest provides network namespaces for tests, made with ip(8) and deleted
// when the test ends. `ip netns add` turns /run/netns into a mount point; when the last
// namespace goes and /run/netns was not a mount point before, that mount goes too.
package netnstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const dir = "/run/netns"

// Add makes the network namespace name and returns its path.
func Add(t testing.TB, name string) string {
	t.Helper()
	wasMount := mounted(dir)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	path := filepath.Join(dir, name)
	t.Cleanup(func() {
		if _, err := os.Stat(path); err == nil {
			if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
				t.Errorf("ip netns delete %s: %v: %s", name, err, out)
			}
		}
		if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 && !wasMount && mounted(dir) {
			// Not lazily: with another test's namespace in it, this fails and leaves it.
			_ = unix.Unmount(dir, 0)
		}
	})
	return path
}

func mounted(p string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == p {
			return true
		}
	}
	return false
}
