// Package etcdtest provides a real embedded etcd for tests, on free loopback ports in a
// temporary directory, stopped and removed when the test ends.
package etcdtest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/pki"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs an etcd member for the test and returns a client of it.
func Start(t testing.TB) *clientv3.Client {
	t.Helper()
	e := Member(t)
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Member runs an etcd member (plain HTTP on loopback) for the test, stopped at its end.
func Member(t testing.TB) *etcd.Etcd {
	t.Helper()
	return member(t, nil)
}

// TLSMember runs an etcd member that serves HTTPS and asks its clients for certificates
// of a CA of its own; files name the CA and a client certificate.
func TLSMember(t testing.TB) (*etcd.Etcd, pki.EtcdFiles) {
	t.Helper()
	f := pki.Files{Dir: t.TempDir()}
	if _, err := pki.Ensure(f, nil); err != nil {
		t.Fatal(err)
	}
	files := f.Etcd()
	return member(t, &files), files
}

func member(t testing.TB, files *pki.EtcdFiles) *etcd.Etcd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var e *etcd.Etcd
	var err error
	for try := 0; try < 5; try++ {
		// A port FreePort offered may be taken by another test process meanwhile.
		e, err = etcd.Start(ctx, etcd.Config{DataDir: t.TempDir(), ClientPort: FreePort(t), PeerPort: FreePort(t), TLS: files})
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}
