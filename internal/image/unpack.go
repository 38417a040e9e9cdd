package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	opaqueMarker       = ".wh..wh..opq"
	opaqueXattr        = "trusted.overlay.opaque"
	paxXattrPrefix     = "SCHILY.xattr."
)

// applyLayer extracts the layer tar r into the empty directory dir in the form
// overlayfs reads as a lower layer:
//   - ".wh.NAME" becomes a character device 0/0 named NAME (a whiteout);
//   - ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory;
//   - modes (with setuid, setgid, sticky), ownership, times, xattrs, symlinks,
//     hardlinks, device nodes and fifos are kept.
//
// Entries whose names climb out with "..", and entries reached through a symlink that
// leaves dir (absolute or relative), are refused. It needs root (chown, mknod,
// trusted.* xattrs).
func applyLayer(ctx context.Context, dir string, r io.Reader) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	a := &applier{root: root}
	defer a.closeParent()
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}
		if err := a.apply(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	return a.finish()
}

type applier struct {
	root *os.Root

	// parent is the open directory parentName, kept while entries stay in it. It is
	// always the parent of the entry being applied, so removing that entry never
	// invalidates it.
	parent     *os.File
	parentName string

	dirs []dirTime // directories whose times are set last, once their entries exist
}

type dirTime struct {
	name         string
	atime, mtime time.Time
}

// cleanName turns a tar entry name into a path relative to the layer root ("" for the
// root itself), refusing names that climb out of it.
func cleanName(n string) (string, error) {
	n = path.Clean(strings.TrimLeft(n, "/"))
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", errors.New("path escapes the layer")
	}
	if n == "." {
		return "", nil
	}
	return n, nil
}

func (a *applier) apply(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the layer root is not a directory")
		}
		return a.rootDir(hdr)
	}
	parent, base := path.Dir(name), path.Base(name)
	if base == opaqueMarker {
		return a.opaque(parent)
	}
	if strings.HasPrefix(base, whiteoutMetaPrefix) {
		return nil // aufs metadata (.wh..wh.plnk and the like): no meaning to overlayfs
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(parent, strings.TrimPrefix(base, whiteoutPrefix), hdr)
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeDir:
		return a.dir(name, parent, base, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return a.file(name, parent, base, hdr, r)
	case tar.TypeSymlink:
		return a.symlink(name, parent, base, hdr)
	case tar.TypeLink:
		return a.hardlink(name, parent, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return a.node(name, parent, base, hdr)
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
}

// openParent returns the directory dir (relative to the root), creating it as root
// 0755 when the layer did not list it.
func (a *applier) openParent(dir string) (int, error) {
	if a.parent != nil && a.parentName == dir {
		return int(a.parent.Fd()), nil
	}
	a.closeParent()
	if dir != "." {
		if err := a.root.MkdirAll(dir, 0o755); err != nil {
			return -1, err
		}
	}
	f, err := a.root.Open(dir)
	if err != nil {
		return -1, err
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return -1, fmt.Errorf("%s is not a directory", dir)
	}
	a.parent, a.parentName = f, dir
	return int(f.Fd()), nil
}

func (a *applier) closeParent() {
	if a.parent != nil {
		a.parent.Close()
		a.parent, a.parentName = nil, ""
	}
}

// clear removes what is at base in the directory pfd, unless it is a directory and
// keepDir is set; it reports whether a directory was kept.
func (a *applier) clear(pfd int, name, base string, keepDir bool) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if keepDir {
			return true, nil
		}
		return false, a.root.RemoveAll(name)
	}
	return false, unix.Unlinkat(pfd, base, 0)
}

func (a *applier) rootDir(hdr *tar.Header) error {
	f, err := a.root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := setAttrs(f, hdr); err != nil {
		return err
	}
	a.dirs = append(a.dirs, dirTime{name: ".", atime: atime(hdr), mtime: mtime(hdr)})
	return nil
}

func (a *applier) dir(name, parent, base string, hdr *tar.Header) error {
	pfd, err := a.openParent(parent)
	if err != nil {
		return err
	}
	kept, err := a.clear(pfd, name, base, true)
	if err != nil {
		return err
	}
	if !kept {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return err
		}
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if err := setAttrs(f, hdr); err != nil {
		return err
	}
	a.dirs = append(a.dirs, dirTime{name: name, atime: atime(hdr), mtime: mtime(hdr)})
	return nil
}

func (a *applier) file(name, parent, base string, hdr *tar.Header, r io.Reader) error {
	pfd, err := a.openParent(parent)
	if err != nil {
		return err
	}
	if _, err := a.clear(pfd, name, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	_, err = io.Copy(f, r)
	if err == nil {
		err = setAttrs(f, hdr)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

func (a *applier) symlink(name, parent, base string, hdr *tar.Header) error {
	pfd, err := a.openParent(parent)
	if err != nil {
		return err
	}
	if _, err := a.clear(pfd, name, base, false); err != nil {
		return err
	}
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return err
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	procPath := "/proc/self/fd/" + strconv.Itoa(pfd) + "/" + base
	for k, v := range xattrs(hdr) {
		if err := unix.Lsetxattr(procPath, k, []byte(v), 0); err != nil && err != unix.ENOTSUP && err != unix.EPERM {
			return fmt.Errorf("xattr %s: %w", k, err)
		}
	}
	return setTimes(pfd, base, hdr)
}

func (a *applier) hardlink(name, parent, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	if target == "" || target == name {
		return fmt.Errorf("bad link target %q", hdr.Linkname)
	}
	pfd, err := a.openParent(parent)
	if err != nil {
		return err
	}
	if _, err := a.clear(pfd, name, base, false); err != nil {
		return err
	}
	tdir, err := a.root.Open(path.Dir(target))
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	defer tdir.Close()
	if err := unix.Linkat(int(tdir.Fd()), path.Base(target), pfd, base, 0); err != nil {
		return fmt.Errorf("link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

func (a *applier) node(name, parent, base string, hdr *tar.Header) error {
	pfd, err := a.openParent(parent)
	if err != nil {
		return err
	}
	if _, err := a.clear(pfd, name, base, false); err != nil {
		return err
	}
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(pfd, base, mode, int(dev)); err != nil {
		return err
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

// whiteout records that this layer deletes name from the layers below: a character
// device 0/0, as overlayfs expects. A whiteout hides only lower layers' files, so an
// entry this layer has itself is kept.
func (a *applier) whiteout(parent, name string, hdr *tar.Header) error {
	if name == "" || name == "." || name == ".." {
		return errors.New("bad whiteout")
	}
	pfd, err := a.openParent(parent)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		return nil
	}
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout: %w", err)
	}
	if err := unix.Fchownat(pfd, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	return setTimes(pfd, name, hdr)
}

// opaque records that this layer's dir hides the contents of the same directory in
// the layers below.
func (a *applier) opaque(dir string) error {
	fd, err := a.openParent(dir)
	if err != nil {
		return err
	}
	if err := unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("opaque directory: setxattr %s: %w", opaqueXattr, err)
	}
	return nil
}

// finish sets directory times, deepest last-listed first, now that nothing more is
// written into them.
func (a *applier) finish() error {
	a.closeParent()
	for i := len(a.dirs) - 1; i >= 0; i-- {
		d := a.dirs[i]
		if err := a.root.Chtimes(d.name, d.atime, d.mtime); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("layer entry %q: %w", d.name, err)
		}
	}
	return nil
}

// setAttrs gives an open file or directory the owner, mode and xattrs of hdr. Mode
// comes after owner: chown clears setuid and setgid.
func setAttrs(f *os.File, hdr *tar.Header) error {
	fd := int(f.Fd())
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	for k, v := range xattrs(hdr) {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil && err != unix.ENOTSUP {
			return fmt.Errorf("xattr %s: %w", k, err)
		}
	}
	return nil
}

// xattrs are the extended attributes a tar entry carries, without overlayfs's own
// (a layer must not forge whiteouts, redirects or metacopy).
func xattrs(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		key, ok := strings.CutPrefix(k, paxXattrPrefix)
		if !ok || strings.HasPrefix(key, "trusted.overlay.") {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = v
	}
	return out
}

// mtime is the entry's modification time; the epoch when the entry has none.
func mtime(hdr *tar.Header) time.Time {
	if hdr.ModTime.IsZero() {
		return time.Unix(0, 0)
	}
	return hdr.ModTime
}

func atime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return mtime(hdr)
	}
	return hdr.AccessTime
}

func setTimes(pfd int, base string, hdr *tar.Header) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime(hdr).UnixNano()), unix.NsecToTimespec(mtime(hdr).UnixNano())}
	return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}
