package serverlease

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/podium/podium/internal/etcd/etcdtest"
)

// waitFor waits, on the set's change signal, until its addresses are want.
func waitFor(t *testing.T, s *Set, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		changed := s.Changed()
		if got := s.Addresses(); slices.Equal(got, want) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("addresses %v, want %v", s.Addresses(), want)
		}
	}
}

// TestServersSeeEachOther: two servers on one etcd each list both; one that stops
// takes its key with it, and the other drops it at once, not after the TTL.
func TestServersSeeEachOther(t *testing.T) {
	client := etcdtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := New(client, "10.0.0.1", slog.Default()), New(client, "10.0.0.2", slog.Default())
	if got := a.Addresses(); !slices.Equal(got, []string{"10.0.0.1"}) {
		t.Fatalf("before Run: %v", got)
	}
	go a.Run(ctx)
	bctx, stopB := context.WithCancel(ctx)
	bDone := make(chan struct{})
	go func() { b.Run(bctx); close(bDone) }()
	waitFor(t, a, "10.0.0.1", "10.0.0.2")
	waitFor(t, b, "10.0.0.1", "10.0.0.2")

	stopB()
	<-bDone
	waitFor(t, a, "10.0.0.1")
	resp, err := client.Get(ctx, Prefix+"10.0.0.2")
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("the stopped server's key: %v %v", resp, err)
	}
}
