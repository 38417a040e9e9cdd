package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Snapshots of the datastore, as k3s's `etcd-snapshot`: a consistent copy of the
// database taken from a running member (etcd's snapshot API), kept as files in one
// directory, and restored into the data directory of a stopped member.

// revisionBump is how far a restore moves the revision on, so that no client sees a
// resource version go back (what `etcdutl snapshot restore --bump-revision` is for).
const revisionBump = 1_000_000_000

// SaveSnapshot writes a snapshot of the member cfg reaches (one endpoint) to path.
func SaveSnapshot(ctx context.Context, cfg clientv3.Config, path string) error {
	if len(cfg.Endpoints) != 1 {
		return errors.New("a snapshot is taken from one etcd member: give one endpoint")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if _, err := snapshot.NewV3(zap.NewNop()).Save(ctx, cfg, path); err != nil {
		return fmt.Errorf("saving a snapshot of %s: %w", cfg.Endpoints[0], err)
	}
	return os.Chmod(path, 0o600)
}

// SnapshotFile is a saved snapshot.
type SnapshotFile struct {
	Name, Path string
	Size       int64
	Created    time.Time
}

// ListSnapshots returns the snapshots in dir, oldest first.
func ListSnapshots(dir string) ([]SnapshotFile, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []SnapshotFile
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, SnapshotFile{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Size: info.Size(), Created: info.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// RestoreSnapshot replaces the embedded member's data in dataDir by the snapshot at
// path, for a member that Start will run with peerPort and TLS. The member must be
// stopped; its data is kept beside as DATADIR.old-UNIXTIME. The revision moves on, so
// that watches and resource versions never go back.
func RestoreSnapshot(path, dataDir string, peerPort int, tls bool) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	if err := checkStopped(dataDir); err != nil {
		return "", err
	}
	if peerPort == 0 {
		peerPort = 2380
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	peer := (&url.URL{Scheme: scheme, Host: "127.0.0.1:" + strconv.Itoa(peerPort)}).String()
	tmp := dataDir + ".restoring"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	err := snapshot.NewV3(zap.NewNop()).Restore(snapshot.RestoreConfig{
		SnapshotPath: path, Name: memberName, OutputDataDir: tmp, PeerURLs: []string{peer},
		InitialCluster: memberName + "=" + peer, InitialClusterToken: "etcd-cluster",
		RevisionBump: revisionBump, MarkCompacted: true,
	})
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("restoring %s: %w", path, err)
	}
	old := ""
	if _, err := os.Stat(dataDir); err == nil {
		old = fmt.Sprintf("%s.old-%d", dataDir, time.Now().Unix())
		if err := os.Rename(dataDir, old); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return "", err
	}
	return old, nil
}

// checkStopped refuses a data directory whose database a running member holds (etcd
// keeps an exclusive lock on it).
func checkStopped(dataDir string) error {
	db := filepath.Join(dataDir, "member", "snap", "db")
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("%s is in use: stop the server first", dataDir)
	}
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
