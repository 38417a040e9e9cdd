package stats

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTree writes files (path relative to root: content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		want      Hierarchies
	}{{
		name: "hybrid, cpu and cpuacct apart",
		mountinfo: `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
		want: Hierarchies{Unified: "/sys/fs/cgroup/unified", CPUAcct: "/sys/fs/cgroup/cpuacct", Memory: "/sys/fs/cgroup/memory"},
	}, {
		name: "v1 co-mounted, a space escaped",
		mountinfo: `25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct
26 20 0:23 / /sys/fs/cgroup/mem\040ory rw shared:10 - cgroup cgroup rw,memory
27 20 0:24 / /other/memory rw - cgroup cgroup rw,memory
`,
		want: Hierarchies{CPUAcct: "/sys/fs/cgroup/cpu,cpuacct", Memory: "/sys/fs/cgroup/mem ory"},
	}, {
		name:      "v2 only",
		mountinfo: "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n",
		want:      Hierarchies{Unified: "/sys/fs/cgroup"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountinfo(strings.NewReader(tt.mountinfo))
			if err != nil || got != tt.want {
				t.Errorf("ParseMountinfo = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestReaderCgroup(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		// cgroup v2: the container has 1.5 s of CPU and 10 MiB with 4 MiB of inactive files.
		"v2/podium/podA/c1/cpu.stat":       "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
		"v2/podium/podA/c1/memory.current": "10485760\n",
		"v2/podium/podA/c1/memory.stat":    "anon 5242880\nfile 5242880\ninactive_file 4194304\npgfault 100\npgmajfault 2\n",
		"v2/podium/podA/c1/memory.max":     "max\n",
		"v2/podium/podA/c2/cpu.stat":       "usage_usec 10\n",
		"v2/podium/podA/c2/memory.current": "4096\n",
		"v2/podium/podA/c2/memory.stat":    "inactive_file 8192\n", // more than usage: a working set of 0
		"v2/podium/podA/c2/memory.max":     "1048576\n",
		// cgroup v1, cpuacct and memory apart.
		"cpuacct/podium/podB/c3/cpuacct.usage":        "2500000000\n",
		"memory/podium/podB/c3/memory.usage_in_bytes": "20971520\n",
		"memory/podium/podB/c3/memory.stat":           "cache 1\nrss 2\ntotal_rss 3145728\ntotal_inactive_file 1048576\ntotal_pgfault 7\ntotal_pgmajfault 1\n",
		"memory/podium/podB/c3/memory.limit_in_bytes": "9223372036854771712\n",
		"memory/podium/podB/c4/memory.usage_in_bytes": "100\n",
		"memory/podium/podB/c4/memory.stat":           "total_inactive_file 0\n",
		"memory/podium/podB/c4/memory.limit_in_bytes": "67108864\n",
		"cpuacct/podium/podB/c4/cpuacct.usage":        "5\n",
	})
	v2 := NewReader(Hierarchies{Unified: filepath.Join(root, "v2")}, "")
	v1 := NewReader(Hierarchies{Unified: filepath.Join(root, "v2"), CPUAcct: filepath.Join(root, "cpuacct"), Memory: filepath.Join(root, "memory")}, "")
	tests := []struct {
		name   string
		reader *Reader
		path   string
		want   Usage
	}{
		{name: "v2", reader: v2, path: "/podium/podA/c1",
			want: Usage{CPU: 1_500_000_000, Memory: 10 << 20, WorkingSet: 6 << 20, RSS: 5 << 20, PageFaults: 100, MajorPageFaults: 2}},
		{name: "v2 with a limit, inactive files beyond usage", reader: v2, path: "/podium/podA/c2",
			want: Usage{CPU: 10_000, Memory: 4096, WorkingSet: 0, MemoryLimit: 1 << 20}},
		{name: "v1", reader: v1, path: "/podium/podB/c3",
			want: Usage{CPU: 2_500_000_000, Memory: 20 << 20, WorkingSet: 19 << 20, RSS: 3 << 20, PageFaults: 7, MajorPageFaults: 1}},
		{name: "v1 with a limit", reader: v1, path: "/podium/podB/c4",
			want: Usage{CPU: 5, Memory: 100, WorkingSet: 100, MemoryLimit: 64 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.reader.Cgroup(tt.path)
			if err != nil || got != tt.want {
				t.Errorf("Cgroup(%s) = %+v, %v; want %+v", tt.path, got, err, tt.want)
			}
		})
	}
	t.Run("gone", func(t *testing.T) {
		if _, err := v1.Cgroup("/podium/podB/ended"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Cgroup of a missing cgroup: %v, want fs.ErrNotExist", err)
		}
	})
}

const meminfo = `MemTotal:        8000000 kB
MemFree:         2000000 kB
MemAvailable:    5000000 kB
AnonPages:       1000000 kB
Inactive(file):  1500000 kB
`

func TestReaderNode(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"proc/stat":    "cpu  100 20 30 4000 50 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nbtime 1700000000\n",
		"proc/meminfo": meminfo,
		"proc/vmstat":  "pgfault 42\npgmajfault 3\n",
		// The v2 root has cpu.stat but no memory.current.
		"v2/cpu.stat": "usage_usec 9000000\n",
		// The v1 root has both.
		"cpuacct/cpuacct.usage":        "123456789\n",
		"memory/memory.usage_in_bytes": "4000000000\n",
		"memory/memory.stat":           "total_rss 1000\ntotal_inactive_file 1000000000\ntotal_pgfault 9\ntotal_pgmajfault 1\n",
		"memory/memory.limit_in_bytes": "9223372036854771712\n",
	})
	proc := filepath.Join(root, "proc")
	tests := []struct {
		name string
		h    Hierarchies
		want Usage
	}{
		{name: "no cgroups: procfs", h: Hierarchies{},
			// (100+20+30+6+7+8) ticks of 10ms; 8e9-2e9 bytes in use, less 1.5e9 inactive.
			want: Usage{CPU: 171 * 10_000_000, Memory: 6_000_000 * 1024, WorkingSet: 4_500_000 * 1024, RSS: 1_000_000 * 1024,
				PageFaults: 42, MajorPageFaults: 3, MemoryLimit: 8_000_000 * 1024}},
		{name: "v2: CPU from the root cgroup, memory from meminfo", h: Hierarchies{Unified: filepath.Join(root, "v2")},
			want: Usage{CPU: 9_000_000_000, Memory: 6_000_000 * 1024, WorkingSet: 4_500_000 * 1024, RSS: 1_000_000 * 1024,
				PageFaults: 42, MajorPageFaults: 3, MemoryLimit: 8_000_000 * 1024}},
		{name: "v1: both from the root cgroup", h: Hierarchies{CPUAcct: filepath.Join(root, "cpuacct"), Memory: filepath.Join(root, "memory")},
			want: Usage{CPU: 123456789, Memory: 4_000_000_000, WorkingSet: 3_000_000_000, RSS: 1000,
				PageFaults: 9, MajorPageFaults: 1, MemoryLimit: 8_000_000 * 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewReader(tt.h, proc).Node()
			if err != nil || got != tt.want {
				t.Errorf("Node() = %+v, %v;\nwant %+v", got, err, tt.want)
			}
		})
	}
	boot, err := NewReader(Hierarchies{}, proc).BootTime()
	if err != nil || !boot.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("BootTime() = %v, %v", boot, err)
	}
}
