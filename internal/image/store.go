package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Config is what New needs.
type Config struct {
	// Root is the store's directory, e.g. DATA_DIR/agent/images. It must not contain
	// ',' or ':' (overlay mount options cannot carry them).
	Root string
	// RegistriesFile is a k3s-style registries.yaml (mirrors, rewrites, auth, TLS).
	// A missing file means no mirrors and anonymous pulls.
	RegistriesFile string
	// Logger receives pull and garbage-collection messages; nil discards them.
	Logger *slog.Logger
}

// Layout of Root:
//
//	index.json                     references and images (see index), replaced atomically
//	lock                           flock(2) held while index.json or snapshots change
//	blobs/sha256/<hex>             manifests, indexes, configs and compressed layers
//	layers/<diffID hex>/           unpacked layers: overlayfs lower directories
//	snapshots/<key>/snapshot.json  the image and layers a snapshot uses
//	snapshots/<key>/upper, work    the snapshot's overlayfs upper and work directories
//	empty/                         the lower directory of an image without layers
//	tmp/                           downloads, unpacks and deletions in progress
//
// Several processes may share a Root (the agent and `podium image`): every change of
// index.json or of the snapshot set happens under the lock file, and readers read
// index.json without it (it is replaced by rename).
type store struct {
	root     string
	log      *slog.Logger
	reg      *registries
	platform v1.Platform

	mu sync.Mutex // serializes this process's holders of the lock file

	leaseMu sync.Mutex     // guards leases
	leases  map[string]int // digests of blobs and diffIDs of layers being written; GC keeps them

	pulls  flightGroup // one pull per reference (and credentials)
	layers flightGroup // one download and unpack per layer blob
}

var _ Store = (*store)(nil)

// New opens (creating it if needed) the image store at cfg.Root.
func New(cfg Config) (Store, error) {
	if cfg.Root == "" {
		return nil, errors.New("image store: Root is required")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("image store %q: %w", cfg.Root, err)
	}
	if strings.ContainsAny(root, ",:") {
		return nil, fmt.Errorf("image store %q: the path must not contain ',' or ':'", root)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{"blobs/sha256", "layers", "snapshots", "empty", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	reg, err := loadRegistries(cfg.RegistriesFile)
	if err != nil {
		return nil, err
	}
	s := &store{
		root:     root,
		log:      log,
		reg:      reg,
		platform: v1.Platform{OS: "linux", Architecture: goruntime.GOARCH},
		leases:   map[string]int{},
	}
	s.cleanTmp(24 * time.Hour)
	return s, nil
}

func (s *store) blobPath(d v1.Hash) string {
	return filepath.Join(s.root, "blobs", d.Algorithm, d.Hex)
}

func (s *store) layerPath(diffID v1.Hash) string {
	return filepath.Join(s.root, "layers", diffID.Hex)
}

func (s *store) snapshotPath(key string) string {
	return filepath.Join(s.root, "snapshots", key)
}

func (s *store) tmpDir() string { return filepath.Join(s.root, "tmp") }

// cleanTmp removes what crashed operations left in tmp/. Only old entries go: another
// process may be using the store right now.
func (s *store) cleanTmp(age time.Duration) {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		_ = os.RemoveAll(filepath.Join(s.tmpDir(), e.Name()))
	}
}

// lease marks blobs and layers as being written so that a garbage collection in this
// process keeps them until release is called.
func (s *store) lease(keys ...string) (release func()) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	for _, k := range keys {
		s.leases[k]++
	}
	return func() {
		s.leaseMu.Lock()
		defer s.leaseMu.Unlock()
		for _, k := range keys {
			if s.leases[k]--; s.leases[k] <= 0 {
				delete(s.leases, k)
			}
		}
	}
}

func (s *store) leased(k string) bool {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	return s.leases[k] > 0
}

// locked runs fn holding the store's lock: this process's mutex and the lock file.
func (s *store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("image store lock: %w", err)
	}
	defer f.Close() // releases the flock
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("image store lock: %w", err)
	}
	return fn()
}

// update runs fn on the current index under the lock, writes the index back when fn
// succeeds, and then collects garbage.
func (s *store) update(fn func(ix *index) error) error {
	var trash []string
	err := s.locked(func() error {
		ix, err := s.readIndex()
		if err != nil {
			return err
		}
		if err := fn(ix); err != nil {
			return err
		}
		if err := s.writeIndex(ix); err != nil {
			return err
		}
		trash = s.collectLocked(ix)
		return nil
	})
	s.emptyTrash(trash)
	return err
}

func (s *store) readIndex() (*index, error) {
	ix := newIndex()
	b, err := os.ReadFile(filepath.Join(s.root, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	if err := json.Unmarshal(b, ix); err != nil {
		return nil, fmt.Errorf("image index %s: %w", filepath.Join(s.root, "index.json"), err)
	}
	if ix.Images == nil {
		ix.Images = map[string]*imageRecord{}
	}
	if ix.Refs == nil {
		ix.Refs = map[string]refRecord{}
	}
	return ix, nil
}

func (s *store) writeIndex(ix *index) error {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.root, "index.json"), b, 0o600)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and renames it
// over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// collectLocked deletes the blobs and layers that no image, reference target,
// snapshot or operation in progress uses. Blobs go at once; unused layer directories
// are moved into tmp/ and returned, for emptyTrash to delete after the lock is
// released. The caller holds the lock.
func (s *store) collectLocked(ix *index) (trash []string) {
	keepBlobs := map[string]bool{}
	keepLayers := map[string]bool{}
	for _, img := range ix.Images {
		keepBlobs[img.ID] = true
		keepBlobs[img.Manifest] = true
		for _, l := range img.Layers {
			keepBlobs[l.Digest] = true
			keepLayers[l.DiffID] = true
		}
	}
	for _, r := range ix.Refs {
		keepBlobs[r.Target] = true
	}
	for _, sn := range s.listSnapshots() {
		for _, l := range sn.Layers {
			keepLayers[l] = true
		}
	}

	blobDir := filepath.Join(s.root, "blobs", "sha256")
	if entries, err := os.ReadDir(blobDir); err == nil {
		for _, e := range entries {
			d := "sha256:" + e.Name()
			if keepBlobs[d] || s.leased(d) {
				continue
			}
			if err := os.Remove(filepath.Join(blobDir, e.Name())); err != nil {
				s.log.Warn("removing unused blob", "digest", d, "err", err)
				continue
			}
			s.log.Debug("removed unused blob", "digest", d)
		}
	}
	layerDir := filepath.Join(s.root, "layers")
	if entries, err := os.ReadDir(layerDir); err == nil {
		for _, e := range entries {
			d := "sha256:" + e.Name()
			if keepLayers[d] || s.leased(d) {
				continue
			}
			dst := filepath.Join(s.tmpDir(), "gc-"+e.Name()+"-"+randomSuffix())
			if err := os.Rename(filepath.Join(layerDir, e.Name()), dst); err != nil {
				s.log.Warn("removing unused layer", "diffID", d, "err", err)
				continue
			}
			s.log.Debug("removed unused layer", "diffID", d)
			trash = append(trash, dst)
		}
	}
	return trash
}

func (s *store) emptyTrash(trash []string) {
	for _, p := range trash {
		if err := os.RemoveAll(p); err != nil {
			s.log.Warn("removing unused layer", "path", p, "err", err)
		}
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// ctxReader fails reads once ctx is done, so that long copies stop on cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
