package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podium/podium/internal/diskusage"
	"github.com/podium/podium/internal/runtime"
)

// ErrExists marks a snapshot key already used for another image.
var ErrExists = errors.New("already exists")

// snapshotInfo is snapshots/<key>/snapshot.json, written before the snapshot's
// directories: garbage collection keeps the layers it lists.
type snapshotInfo struct {
	Image  string   `json:"image"`
	Layers []string `json:"layers"` // diffIDs, topmost first, as in lowerdir
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func checkKey(key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("snapshot key %q: want 1-128 letters, digits, '_', '.' or '-', not starting with a symbol", key)
	}
	return nil
}

// Prepare makes the snapshot key of image: lowerdirs are the image's unpacked layers,
// topmost first (overlayfs reads the first lowerdir as the top), a layer appearing
// twice only where it is topmost (overlayfs refuses a directory twice, and the upper
// copy hides the lower one anyway). Preparing a key again for the same image returns
// the same mount with its upper directory as it is; for another image it fails with
// ErrExists.
func (s *store) Prepare(ctx context.Context, image, key string) (Mount, error) {
	if err := checkKey(key); err != nil {
		return Mount{}, err
	}
	var m Mount
	err := s.locked(func() error {
		ix, err := s.readIndex()
		if err != nil {
			return err
		}
		img, _ := ix.resolve(image)
		if img == nil {
			return fmt.Errorf("image %q: %w", image, runtime.ErrNotFound)
		}
		dir := s.snapshotPath(key)
		info, err := readSnapshot(dir)
		switch {
		case err == nil && info.Image != img.ID:
			return fmt.Errorf("snapshot %q of image %s: %w", key, info.Image, ErrExists)
		case err != nil:
			info = &snapshotInfo{Image: img.ID, Layers: lowerLayers(img)}
			for _, l := range info.Layers {
				h, err := v1.NewHash(l)
				if err != nil || !exists(s.layerPath(h)) {
					return fmt.Errorf("image %s: layer %s is not unpacked", img.ID, l)
				}
			}
			if err := os.MkdirAll(dir, 0o711); err != nil {
				return err
			}
			b, err := json.Marshal(info)
			if err != nil {
				return err
			}
			if err := writeFileAtomic(filepath.Join(dir, "snapshot.json"), b, 0o600); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, "work"), 0o700); err != nil {
			return err
		}
		m = s.mount(dir, info.Layers)
		return nil
	})
	if err != nil {
		return Mount{}, fmt.Errorf("prepare snapshot %q: %w", key, err)
	}
	return m, nil
}

// lowerLayers lists an image's diffIDs topmost first, each once.
func lowerLayers(img *imageRecord) []string {
	var out []string
	seen := map[string]bool{}
	for i := len(img.Layers) - 1; i >= 0; i-- {
		d := img.Layers[i].DiffID
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func (s *store) mount(dir string, layers []string) Mount {
	var lower []string
	for _, l := range layers {
		lower = append(lower, filepath.Join(s.root, "layers", strings.TrimPrefix(l, "sha256:")))
	}
	if len(lower) == 0 {
		lower = []string{filepath.Join(s.root, "empty")}
	}
	return Mount{
		Type:   "overlay",
		Source: "overlay",
		Options: []string{
			"lowerdir=" + strings.Join(lower, ":"),
			"upperdir=" + filepath.Join(dir, "upper"),
			"workdir=" + filepath.Join(dir, "work"),
		},
	}
}

// RemoveSnapshot deletes a snapshot, and the layers only it kept.
func (s *store) RemoveSnapshot(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	var trash []string
	err := s.locked(func() error {
		dir := s.snapshotPath(key)
		if !exists(dir) {
			return nil
		}
		dst := filepath.Join(s.tmpDir(), "snapshot-"+key+"-"+randomSuffix())
		if err := os.Rename(dir, dst); err != nil {
			return err
		}
		trash = append(trash, dst)
		ix, err := s.readIndex()
		if err != nil {
			return err
		}
		trash = append(trash, s.collectLocked(ix)...)
		return nil
	})
	s.emptyTrash(trash)
	if err != nil {
		return fmt.Errorf("remove snapshot %q: %w", key, err)
	}
	return nil
}

func readSnapshot(dir string) (*snapshotInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		return nil, err
	}
	info := &snapshotInfo{}
	if err := json.Unmarshal(b, info); err != nil {
		return nil, err
	}
	return info, nil
}

// listSnapshots reads every snapshot's info; unreadable ones are skipped.
func (s *store) listSnapshots() []*snapshotInfo {
	entries, err := os.ReadDir(filepath.Join(s.root, "snapshots"))
	if err != nil {
		return nil
	}
	var out []*snapshotInfo
	for _, e := range entries {
		if info, err := readSnapshot(s.snapshotPath(e.Name())); err == nil {
			out = append(out, info)
		}
	}
	return out
}

// SnapshotUsage implements Store.
func (s *store) SnapshotUsage(_ context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	return diskusage.Of(filepath.Join(s.root, "snapshots", key, "upper"))
}
