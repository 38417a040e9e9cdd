package claims

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/etcd/etcdtest"
)

// TestOneWinner: of many servers claiming one item at once, one wins; its owner may take
// it again, and once it gives it back another can have it.
func TestOneWinner(t *testing.T) {
	ctx := context.Background()
	s := New(etcdtest.Start(t), clocktesting.NewFakePassiveClock(time.Now()))
	var wg sync.WaitGroup
	won := make(chan string, 8)
	for _, owner := range []string{"a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8"} {
		wg.Go(func() {
			switch err := s.Take(ctx, "services/ip/10.43.0.5", owner); {
			case err == nil:
				won <- owner
			case !errors.Is(err, ErrTaken):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(won)
	var winners []string
	for w := range won {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("winners %v", winners)
	}
	if err := s.Take(ctx, "services/ip/10.43.0.5", winners[0]); err != nil {
		t.Fatalf("the owner taking its claim again: %v", err)
	}
	if err := s.Release(ctx, "services/ip/10.43.0.5", "someone/else"); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, "services/ip/10.43.0.5", "b/1"); !errors.Is(err, ErrTaken) {
		t.Fatalf("a release by another owner freed the claim: %v", err)
	}
	if err := s.Release(ctx, "services/ip/10.43.0.5", winners[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, "services/ip/10.43.0.5", "b/1"); err != nil {
		t.Fatalf("after the release: %v", err)
	}
}

// TestRemoveListed: a listed claim is removed unless it changed since.
func TestRemoveListed(t *testing.T) {
	ctx := context.Background()
	s := New(etcdtest.Start(t), clocktesting.NewFakePassiveClock(time.Now()))
	for _, item := range []string{"services/port/30000", "nodes/podcidr/10.42.0.0/24"} {
		if err := s.Take(ctx, item, "x"); err != nil {
			t.Fatal(err)
		}
	}
	listed, err := s.List(ctx, "services/")
	if err != nil || len(listed) != 1 || listed[0].Item != "services/port/30000" || listed[0].Owner != "x" {
		t.Fatalf("list: %+v %v", listed, err)
	}
	// Changed since the listing: given back and taken by another.
	if err := s.Release(ctx, "services/port/30000", "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, "services/port/30000", "y"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, listed[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, "services/port/30000", "z"); !errors.Is(err, ErrTaken) {
		t.Fatalf("a stale listing removed a newer claim: %v", err)
	}
}
