package clusterid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/pki"
)

func ensure(t *testing.T, f pki.Files) *pki.Credentials {
	t.Helper()
	c, err := pki.Ensure(f, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSecondServerTakesTheIdentity: the first server stores what it made; a second,
// given the first's token, writes the same CA, keys and tokens into its own data
// directory before it makes anything, and its own serving certificate is then signed
// by the shared CA.
func TestSecondServerTakesTheIdentity(t *testing.T) {
	ctx := context.Background()
	kv := etcdtest.Start(t)
	first := pki.Files{Dir: t.TempDir()}
	c1 := ensure(t, first)
	if changed, err := Store(ctx, kv, first, c1.JoinToken); err != nil || changed {
		t.Fatalf("first store: changed %v, %v", changed, err)
	}
	stored, err := kv.Get(ctx, Key)
	if err != nil || len(stored.Kvs) != 1 {
		t.Fatalf("the record: %v %v", stored, err)
	}
	if bytes.Contains(stored.Kvs[0].Value, []byte("PRIVATE KEY")) || bytes.Contains(stored.Kvs[0].Value, []byte(c1.AdminToken)) {
		t.Fatal("the record holds a key or the admin token in the clear")
	}

	second := pki.Files{Dir: t.TempDir()}
	if found, err := Fetch(ctx, kv, second, c1.JoinToken); err != nil || !found {
		t.Fatalf("fetch: found %v, %v", found, err)
	}
	c2 := ensure(t, second)
	if !bytes.Equal(c1.CAPEM, c2.CAPEM) || c1.AdminToken != c2.AdminToken || c1.JoinToken != c2.JoinToken ||
		!bytes.Equal(c1.FrontProxyCAPEM, c2.FrontProxyCAPEM) || !c1.ServiceAccountKey.Equal(c2.ServiceAccountKey) {
		t.Fatal("the second server's identity differs from the first's")
	}
	if bytes.Equal(c1.Serving.Certificate[0], c2.Serving.Certificate[0]) {
		t.Fatal("the second server reuses the first's serving certificate")
	}
	for _, p := range Files(second) {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, st, err)
		}
	}
	if changed, err := Store(ctx, kv, second, c2.JoinToken); err != nil || changed {
		t.Fatalf("the second's store: changed %v, %v", changed, err)
	}
}

// TestRacingServersAgree: two servers that each made an identity before either stored
// it end with the one that was stored first.
func TestRacingServersAgree(t *testing.T) {
	ctx := context.Background()
	kv := etcdtest.Start(t)
	a, b := pki.Files{Dir: t.TempDir()}, pki.Files{Dir: t.TempDir()}
	ca := ensure(t, a)
	if err := pki.UseJoinToken(b, ca.JoinToken); err != nil {
		t.Fatal(err)
	}
	cb := ensure(t, b)
	if bytes.Equal(ca.CAPEM, cb.CAPEM) {
		t.Fatal("two fresh data directories made one CA")
	}
	if _, err := Store(ctx, kv, a, ca.JoinToken); err != nil {
		t.Fatal(err)
	}
	changed, err := Store(ctx, kv, b, cb.JoinToken)
	if err != nil || !changed {
		t.Fatalf("the loser's store: changed %v, %v", changed, err)
	}
	if cb = ensure(t, b); !bytes.Equal(ca.CAPEM, cb.CAPEM) || ca.AdminToken != cb.AdminToken {
		t.Fatal("the loser kept its own identity")
	}
}

// TestOtherToken: a server given another token (or none) learns that the datastore is
// another cluster's, and its data directory is left alone.
func TestOtherToken(t *testing.T) {
	ctx := context.Background()
	kv := etcdtest.Start(t)
	first := pki.Files{Dir: t.TempDir()}
	c1 := ensure(t, first)
	if _, err := Store(ctx, kv, first, c1.JoinToken); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"", "not-the-token"} {
		other := pki.Files{Dir: t.TempDir()}
		if _, err := Fetch(ctx, kv, other, secret); !errors.Is(err, ErrOtherCluster) {
			t.Fatalf("fetch with %q: %v", secret, err)
		}
		if entries, _ := os.ReadDir(other.Dir); len(entries) != 0 {
			t.Fatalf("fetch with %q wrote %v", secret, entries)
		}
	}
}

// TestTamperedRecord: a record changed in etcd does not decrypt, and writes nothing.
func TestTamperedRecord(t *testing.T) {
	files := map[string][]byte{"token": []byte("s\n")}
	sealed, err := Seal(files, "s")
	if err != nil {
		t.Fatal(err)
	}
	var r record
	if err := json.Unmarshal(sealed, &r); err != nil {
		t.Fatal(err)
	}
	r.Sealed[0] ^= 1
	changed, _ := json.Marshal(r)
	if _, err := Open(changed, "s"); err == nil || errors.Is(err, ErrOtherCluster) {
		t.Fatalf("a changed record: %v", err)
	}
}
