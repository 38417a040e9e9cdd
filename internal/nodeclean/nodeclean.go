package nodeclean

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Mounts lists the mount points below dir, in the order they were mounted.
func Mounts(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

// Shims returns the PIDs of the podium-shim processes started for a node whose data
// directory is dataDir.
func Shims(dataDir string) []int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, p := range procs {
		cmd, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(cmd), "podium-shim") || !strings.Contains(string(cmd), dataDir) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Force kills, by PID, the podium-shim processes started for a node whose data
// directory is dataDir, with their children (the pods' containers), and unmounts what is
// mounted below dataDir, newest first. The node's network is the caller's to remove.
func Force(dataDir string) {
	for _, pid := range Shims(dataDir) {
		if children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
			for _, c := range strings.Fields(string(children)) {
				if cp, err := strconv.Atoi(c); err == nil {
					_ = syscall.Kill(cp, syscall.SIGKILL)
				}
			}
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	mounts := Mounts(dataDir)
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}
