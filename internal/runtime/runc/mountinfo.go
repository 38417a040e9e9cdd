package runc

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podium/podium/internal/mountinfo"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry = mountinfo.Entry

// readMountinfo parses /proc/self/mountinfo.
func readMountinfo() ([]mountEntry, error) { return mountinfo.Read() }

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	ms, err := readMountinfo()
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	var out []string
	for _, m := range ms {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			out = append(out, m.Point)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unmount unmounts target; it is not an error when nothing is mounted there. A busy
// mount is retried for a while and then detached.
func unmount(target string) error {
	for i := 0; ; i++ {
		err := unix.Unmount(target, 0)
		switch {
		case err == nil:
			continue // stacked mounts: unmount until nothing is left
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EBUSY) && i < 20:
			time.Sleep(10 * time.Millisecond)
		case errors.Is(err, unix.EBUSY):
			return unix.Unmount(target, unix.MNT_DETACH)
		default:
			return &os.PathError{Op: "unmount", Path: target, Err: err}
		}
	}
}

// unmountAll unmounts everything mounted at or below dir.
func unmountAll(dir string) error {
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range points {
		if err := unmount(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
