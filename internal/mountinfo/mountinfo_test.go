package mountinfo

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	text := `22 1 0:20 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
23 1 0:21 / /sys/fs/cgroup/cpu,cpuacct rw shared:5 - cgroup cgroup rw,cpu,cpuacct
24 1 8:1 /sub /mnt/a\040b rw - ext4 /dev/sda1 rw
broken line
`
	got, err := Parse(strings.NewReader(text))
	if err != nil || len(got) != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	if got[1].FSType != "cgroup" || got[1].SuperOpts[2] != "cpuacct" || got[2].Point != "/mnt/a b" || got[2].MountRoot != "/sub" || got[2].SourceName != "/dev/sda1" {
		t.Errorf("%+v", got)
	}
	if Unescape(`/a\040b\011c`) != "/a b\tc" {
		t.Error("unescape")
	}
}
