// Package diskusage measures what files take on disk, as du does: the blocks allocated
// to every file below a directory, each inode once, without following symbolic links
// or crossing into other file systems.
package diskusage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Of returns the bytes allocated below path (path included); 0 when it does not exist.
// Files that vanish while it walks are skipped.
func Of(path string) (int64, error) {
	root, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	dev := root.Sys().(*syscall.Stat_t).Dev
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var total int64
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir // a mount point: another file system
			}
			return nil
		}
		if k := (inode{st.Dev, st.Ino}); !seen[k] {
			seen[k] = true
			total += st.Blocks * 512
		}
		return nil
	})
	return total, err
}
