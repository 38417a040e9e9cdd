// Package netnstest provides network namespaces for tests, made with ip(8) and deleted
// when the test ends. `ip netns add` turns /run/netns into a mount point; when the last
// namespace goes, that mount goes too. It goes even if it was there before: test
// packages run in parallel processes, and one that found another's mount would
// otherwise leave it behind. An empty /run/netns mount holds nothing, and ip makes it
// again when it needs it.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const dir = "/run/netns"

// Add makes the network namespace name and returns its path; the test's cleanup removes
// it.
func Add(t testing.TB, name string) string {
	t.Helper()
	path, remove, err := Make(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := remove(); err != nil {
			t.Error(err)
		}
	})
	return path
}

// Make makes the network namespace name and returns its path and the function that
// deletes it again (with the /run/netns mount, once that is empty). Benchmarks use it
// where no testing.TB is at hand.
func Make(name string) (path string, remove func() error, err error) {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	path = filepath.Join(dir, name)
	remove = func() error {
		if _, err := os.Stat(path); err == nil {
			if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
				return fmt.Errorf("ip netns delete %s: %v: %s", name, err, out)
			}
		}
		if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 && mounted(dir) {
			// Not lazily: with a namespace made meanwhile in it, this fails and leaves it.
			_ = unix.Unmount(dir, 0)
		}
		return nil
	}
	return path, remove, nil
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
