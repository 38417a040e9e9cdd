// Package mountinfo parses /proc/self/mountinfo: the mounts of a process's mount
// namespace, with their octal escapes (\040 for a space) undone.
package mountinfo

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// Entry is one line of mountinfo.
type Entry struct {
	Point      string
	FSType     string
	SuperOpts  []string
	MountRoot  string
	MountOpts  string
	SourceName string
}

// Read parses this process's /proc/self/mountinfo.
func Read() ([]Entry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse parses mountinfo text; malformed lines are left out.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 6 || len(qf) < 3 {
			continue
		}
		out = append(out, Entry{
			MountRoot:  Unescape(pf[3]),
			Point:      Unescape(pf[4]),
			MountOpts:  pf[5],
			FSType:     qf[0],
			SourceName: Unescape(qf[1]),
			SuperOpts:  strings.Split(qf[2], ","),
		})
	}
	return out, sc.Err()
}

// Unescape undoes mountinfo's octal escapes (\040 for a space).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
