package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A subPath names a path inside a volume that a container may have written itself, so
// every component may be a symlink planted to reach the host (the CVE-2017-1002101
// class). It is therefore resolved with openat2 below the volume's directory: symlinks
// that stay inside the volume are followed, one that leads out is an error, and the
// result is pinned by a bind mount of the opened file descriptor, so that swapping a
// component for a symlink after the check changes nothing.

// beneath resolves every path below the directory it is opened from, refusing to leave it
// (RESOLVE_BENEATH: ".." above it and absolute symlinks are errors) and refusing
// /proc magic links.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// openSubPath opens sub below the volume directory root as an O_PATH descriptor,
// making the directories that are missing with perm (as upstream, with the volume's own
// mode). A path that leads out of the volume is a configuration error.
func openSubPath(root, sub string, perm fs.FileMode) (*os.File, error) {
	rootFd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(rootFd)
	sub = filepath.Clean(sub)
	escape := func() error {
		return &configError{msg: fmt.Sprintf("subpath %q not within volume path %q", sub, root)}
	}
	open := func(rel string, flags uint64) (int, error) {
		fd, err := unix.Openat2(rootFd, rel, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: beneath})
		for errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) { // a rename raced the lookup
			fd, err = unix.Openat2(rootFd, rel, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: beneath})
		}
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP) {
			return -1, escape()
		}
		return fd, err
	}
	fd, err := open(sub, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		if err := mkdirBeneath(rootFd, sub, perm, open); err != nil {
			return nil, err
		}
		fd, err = open(sub, unix.O_PATH)
	}
	if err != nil {
		if _, ok := err.(*configError); ok {
			return nil, err
		}
		return nil, &os.PathError{Op: "open", Path: filepath.Join(root, sub), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(root, sub)), nil
}

// mkdirBeneath makes each missing directory of rel in turn, each inside its parent as
// opened below the root, and gives it exactly perm (whatever the umask), its setgid and
// sticky bits included.
func mkdirBeneath(rootFd int, rel string, perm fs.FileMode, open func(string, uint64) (int, error)) error {
	parts := strings.Split(rel, string(filepath.Separator))
	for i, name := range parts {
		parent := "."
		if i > 0 {
			parent = filepath.Join(parts[:i]...)
		}
		dirFd, err := open(parent, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			if _, ok := err.(*configError); ok {
				return err
			}
			return &os.PathError{Op: "open", Path: parent, Err: err}
		}
		err = unix.Mkdirat(dirFd, name, unixMode(perm))
		if err == nil {
			// The new directory is opened without following anything: it was made just
			// now, and a symlink in its place would be the container's doing.
			var sub int
			if sub, err = unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
				err = unix.Fchmod(sub, unixMode(perm))
				unix.Close(sub)
			}
		} else if errors.Is(err, unix.EEXIST) {
			err = nil
		}
		unix.Close(dirFd)
		if err != nil {
			return &os.PathError{Op: "mkdir", Path: filepath.Join(parts[:i+1]...), Err: err}
		}
	}
	return nil
}

// unixMode is perm's permission bits with its setuid, setgid and sticky bits, as
// chmod(2) takes them.
func unixMode(perm fs.FileMode) uint32 {
	m := uint32(perm.Perm())
	if perm&fs.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if perm&fs.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if perm&fs.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}

// bindSubPath bind-mounts what f refers to onto target (made as a directory or an empty
// file to match), replacing an earlier mount there. The runtime then
// mounts target, which no later change inside the volume can redirect.
func bindSubPath(f *os.File, target string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return err
	}
	for mounted(target) {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := os.Mkdir(target, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	} else {
		t, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			return err
		}
		t.Close()
	}
	source := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount of subpath %s on %s: %w", f.Name(), target, err)
	}
	return nil
}
