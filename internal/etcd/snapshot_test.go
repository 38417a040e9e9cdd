package etcd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/pki"
)

// TestSnapshotRestore: a snapshot of a running member restores into its data
// directory once it is stopped (not before): what was written after the snapshot is
// gone, what was before is back, and the revision has moved on rather than back.
func TestSnapshotRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := pki.Files{Dir: t.TempDir()}
	if _, err := pki.Ensure(f, nil); err != nil {
		t.Fatal(err)
	}
	files := f.Etcd()
	dataDir, clientPort, peerPort := t.TempDir()+"/etcd", etcdtest.FreePort(t), etcdtest.FreePort(t)
	start := func() (*etcd.Etcd, *clientv3.Client, clientv3.Config) {
		e, err := etcd.Start(ctx, etcd.Config{DataDir: dataDir, ClientPort: clientPort, PeerPort: peerPort, TLS: &files})
		if err != nil {
			t.Fatal(err)
		}
		tlsCfg, err := etcd.ClientTLS(files)
		if err != nil {
			t.Fatal(err)
		}
		cfg := clientv3.Config{Endpoints: []string{e.Endpoint()}, TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
		c, err := clientv3.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return e, c, cfg
	}
	e, c, cfg := start()
	if _, err := c.Put(ctx, "/kept", "1"); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/snapshots/s1"
	if err := etcd.SaveSnapshot(ctx, cfg, path); err != nil {
		t.Fatal(err)
	}
	after, err := c.Put(ctx, "/later", "2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.RestoreSnapshot(path, dataDir, peerPort, true); err == nil || !strings.Contains(err.Error(), "stop the server first") {
		t.Fatalf("a restore under a running member: %v", err)
	}
	list, err := etcd.ListSnapshots(t.TempDir() + "/none")
	if err != nil || len(list) != 0 {
		t.Fatalf("no snapshots: %v %v", list, err)
	}
	c.Close()
	e.Close()

	old, err := etcd.RestoreSnapshot(path, dataDir, peerPort, true)
	if err != nil || old == "" {
		t.Fatalf("restore: %q %v", old, err)
	}
	e, c, _ = start()
	defer e.Close()
	defer c.Close()
	kept, err := c.Get(ctx, "/kept")
	if err != nil || len(kept.Kvs) != 1 {
		t.Fatalf("/kept after the restore: %v %v", kept, err)
	}
	later, err := c.Get(ctx, "/later")
	if err != nil || len(later.Kvs) != 0 {
		t.Fatalf("/later after the restore: %v %v", later, err)
	}
	if later.Header.Revision <= after.Header.Revision {
		t.Fatalf("revision %d after the restore, %d before: it went back", later.Header.Revision, after.Header.Revision)
	}
}
