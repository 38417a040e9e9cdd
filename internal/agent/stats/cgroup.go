package stats

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podium/podium/internal/mountinfo"
)

// Hierarchies says where the cgroup hierarchies the figures come from are mounted.
type Hierarchies struct {
	// Unified is the mount point of the cgroup v2 hierarchy; "" when there is none.
	Unified string
	// CPUAcct and Memory are the mount points of the cgroup v1 hierarchies that hold
	// the cpuacct and memory controllers; "" when the controller is not on a v1
	// hierarchy, and is then read from Unified.
	CPUAcct, Memory string
}

// ParseMountinfo finds the cgroup hierarchies in the text of /proc/self/mountinfo. The
// first mount of each wins.
func ParseMountinfo(r io.Reader) (Hierarchies, error) {
	var h Hierarchies
	mounts, err := mountinfo.Parse(r)
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup2":
			if h.Unified == "" {
				h.Unified = m.Point
			}
		case "cgroup":
			if h.CPUAcct == "" && slices.Contains(m.SuperOpts, "cpuacct") {
				h.CPUAcct = m.Point
			}
			if h.Memory == "" && slices.Contains(m.SuperOpts, "memory") {
				h.Memory = m.Point
			}
		}
	}
	return h, err
}

// DiscoverHierarchies finds the cgroup hierarchies mounted in this process's mount
// namespace.
func DiscoverHierarchies() (Hierarchies, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Hierarchies{}, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// Usage is what a cgroup, or the node, used at one moment.
type Usage struct {
	// CPU is the CPU time used since the cgroup was made (the node: since it booted),
	// in core-nanoseconds.
	CPU uint64
	// Memory is the memory charged, page cache included. WorkingSet is Memory less the
	// inactive file pages, which the kernel reclaims first, as cAdvisor and the kubelet
	// compute it; RSS is the anonymous memory.
	Memory, WorkingSet, RSS uint64
	// PageFaults and MajorPageFaults count the faults since the cgroup was made.
	PageFaults, MajorPageFaults uint64
	// MemoryLimit is the cgroup's memory limit (the node: its memory); 0 when there is
	// none.
	MemoryLimit uint64
}

// Reader reads usage from the cgroup files and from procfs. It keeps no state and is
// safe for concurrent use.
type Reader struct {
	cgroups Hierarchies
	proc    string
}

// NewReader returns a Reader of the hierarchies cgroups and of the procfs mounted at
// proc ("" for /proc).
func NewReader(cgroups Hierarchies, proc string) *Reader {
	if proc == "" {
		proc = "/proc"
	}
	return &Reader{cgroups: cgroups, proc: proc}
}

// unlimited is the least value a v1 memory.limit_in_bytes takes without a limit set
// (the largest page-aligned int64).
const unlimited = 1 << 62

// Cgroup reads the cgroup at path, absolute in each hierarchy
// (/podium/pod<UID>/<container ID>). A cgroup that does not exist, as a container's
// that just ended, is an error wrapping fs.ErrNotExist.
func (r *Reader) Cgroup(path string) (Usage, error) {
	var u Usage
	var err error
	if u.CPU, err = r.cgroupCPU(path); err != nil {
		return Usage{}, fmt.Errorf("cgroup %s: %w", path, err)
	}
	if err := r.cgroupMemory(path, &u); err != nil {
		return Usage{}, fmt.Errorf("cgroup %s: %w", path, err)
	}
	return u, nil
}

func (r *Reader) cgroupCPU(path string) (uint64, error) {
	switch {
	case r.cgroups.CPUAcct != "":
		return readUint(filepath.Join(r.cgroups.CPUAcct, path, "cpuacct.usage"))
	case r.cgroups.Unified != "":
		stat, err := readKeyed(filepath.Join(r.cgroups.Unified, path, "cpu.stat"))
		if err != nil {
			return 0, err
		}
		usec, ok := stat["usage_usec"]
		if !ok {
			return 0, fmt.Errorf("cpu.stat has no usage_usec")
		}
		return usec * 1000, nil
	}
	return 0, fmt.Errorf("no cgroup hierarchy has the CPU usage")
}

func (r *Reader) cgroupMemory(path string, u *Usage) error {
	switch {
	case r.cgroups.Memory != "":
		dir := filepath.Join(r.cgroups.Memory, path)
		usage, err := readUint(filepath.Join(dir, "memory.usage_in_bytes"))
		if err != nil {
			return err
		}
		stat, err := readKeyed(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return err
		}
		u.Memory, u.RSS = usage, stat["total_rss"]
		u.WorkingSet = workingSet(usage, stat["total_inactive_file"])
		u.PageFaults, u.MajorPageFaults = stat["total_pgfault"], stat["total_pgmajfault"]
		if limit, err := readUint(filepath.Join(dir, "memory.limit_in_bytes")); err == nil && limit < unlimited {
			u.MemoryLimit = limit
		}
		return nil
	case r.cgroups.Unified != "":
		dir := filepath.Join(r.cgroups.Unified, path)
		usage, err := readUint(filepath.Join(dir, "memory.current"))
		if err != nil {
			return err
		}
		stat, err := readKeyed(filepath.Join(dir, "memory.stat"))
		if err != nil {
			return err
		}
		u.Memory, u.RSS = usage, stat["anon"]
		u.WorkingSet = workingSet(usage, stat["inactive_file"])
		u.PageFaults, u.MajorPageFaults = stat["pgfault"], stat["pgmajfault"]
		if limit, err := readUint(filepath.Join(dir, "memory.max")); err == nil { // "max" is no limit
			u.MemoryLimit = limit
		}
		return nil
	}
	return fmt.Errorf("no cgroup hierarchy has the memory usage")
}

// workingSet is usage less the inactive file pages, never below zero.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

// Node reads the node's usage: CPU from the root cgroup (or, failing that, from
// /proc/stat), memory from the root cgroup of a v1 memory hierarchy (or from
// /proc/meminfo, as the v2 root cgroup has no memory.current). MemoryLimit is the
// node's memory.
func (r *Reader) Node() (Usage, error) {
	var u Usage
	cpu, err := r.cgroupCPU("/")
	if err != nil {
		if cpu, err = r.procCPU(); err != nil {
			return Usage{}, err
		}
	}
	u.CPU = cpu
	info, err := readMeminfo(filepath.Join(r.proc, "meminfo"))
	if err != nil {
		return Usage{}, err
	}
	if r.cgroups.Memory == "" || r.cgroupMemory("/", &u) != nil {
		u.Memory = info["MemTotal"] - min(info["MemFree"], info["MemTotal"])
		u.WorkingSet = workingSet(u.Memory, info["Inactive(file)"])
		u.RSS = info["AnonPages"]
		if vm, err := readKeyed(filepath.Join(r.proc, "vmstat")); err == nil {
			u.PageFaults, u.MajorPageFaults = vm["pgfault"], vm["pgmajfault"]
		}
	}
	u.MemoryLimit = info["MemTotal"]
	return u, nil
}

// userHZ is the unit of /proc/stat's times, fixed at 100 by the kernel's ABI.
const userHZ = 100

// procCPU is the CPU time /proc/stat counts as used: user, nice, system, irq, softirq
// and steal (guest time is within user already).
func (r *Reader) procCPU() (uint64, error) {
	data, err := os.ReadFile(filepath.Join(r.proc, "stat"))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(data) {
		f := strings.Fields(string(line))
		if len(f) < 9 || f[0] != "cpu" {
			continue
		}
		var ticks uint64
		for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system [idle iowait] irq softirq steal
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", filepath.Join(r.proc, "stat"), err)
			}
			ticks += n
		}
		return ticks * uint64(time.Second/userHZ), nil
	}
	return 0, fmt.Errorf("%s has no cpu line", filepath.Join(r.proc, "stat"))
}

// BootTime reads when the node booted (btime in /proc/stat).
func (r *Reader) BootTime() (time.Time, error) {
	stat, err := readKeyed(filepath.Join(r.proc, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	btime, ok := stat["btime"]
	if !ok {
		return time.Time{}, fmt.Errorf("%s has no btime", filepath.Join(r.proc, "stat"))
	}
	return time.Unix(int64(btime), 0), nil
}

// readUint reads a file holding one number. "max" reads as an error, so that a limit
// not set is none.
func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// readKeyed reads a file of "key value" lines (cpu.stat, memory.stat, vmstat); lines
// that do not parse are skipped.
func readKeyed(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for line := range bytes.Lines(data) {
		f := strings.Fields(string(line))
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = n
		}
	}
	return out, nil
}

// readMeminfo reads /proc/meminfo, in bytes.
func readMeminfo(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for line := range bytes.Lines(data) {
		key, rest, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[key] = n
	}
	if _, ok := out["MemTotal"]; !ok {
		return nil, fmt.Errorf("%s has no MemTotal", path)
	}
	return out, nil
}
