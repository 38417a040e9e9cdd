package agent

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dataLink is the link, in a volume the agent writes, to the directory holding the
// current files; each top-level name of the volume links through it.
const dataLink = "..data"

// writeVolume makes dir hold exactly files, as upstream's kubelet writes configMap,
// secret, downward API and projected volumes: the files go into a new timestamped
// directory, dataLink is switched to it in one rename (a reader sees the old set or the
// new one, never a mix), and names that left the payload disappear. Nothing is written
// when dir holds files already. Paths that would leave dir are refused.
func writeVolume(dir string, files map[string]fileContent) error {
	tops := map[string]bool{}
	for rel := range files {
		clean := filepath.Clean(rel)
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "..") {
			return fmt.Errorf("path %q leaves the volume", rel)
		}
		tops[strings.SplitN(clean, "/", 2)[0]] = true
	}
	if current(dir, files) {
		return nil
	}
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for rel, f := range files {
		p := filepath.Join(ts, filepath.Clean(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
		if f.owner != nil {
			if err := os.Lchown(p, int(*f.owner), -1); err != nil {
				return err
			}
		}
	}
	tmp := filepath.Join(dir, dataLink+"_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		return err
	}
	for top := range tops {
		p := filepath.Join(dir, top)
		if target, err := os.Readlink(p); err == nil && target == filepath.Join(dataLink, top) {
			continue
		}
		if err := os.RemoveAll(p); err != nil { // a file of an older layout, or a stray
			return err
		}
		if err := os.Symlink(filepath.Join(dataLink, top), p); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataLink || name == filepath.Base(ts) || tops[name]:
		default: // an older payload, or a name that left it
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// current reports whether dir holds exactly files, with their modes.
func current(dir string, files map[string]fileContent) bool {
	data := filepath.Join(dir, dataLink)
	n := 0
	err := filepath.WalkDir(data+"/", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(data, p)
		f, ok := files[rel]
		if !ok {
			return fs.ErrExist
		}
		info, err := d.Info()
		// An fsGroup adds the group's read bits (setOwnership).
		if perm := info.Mode().Perm(); err != nil || (perm != f.mode.Perm() && perm != f.mode.Perm()|0o440) {
			return fs.ErrExist
		}
		content, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(content, f.data) {
			return fs.ErrExist
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}
