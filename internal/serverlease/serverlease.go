package serverlease

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Prefix is where the keys are, outside the API's /registry prefix.
const Prefix = "/podium/serverleases/"

// TTL is how long a server's key outlives its last renewal, as upstream's master
// leases (15 s).
const TTL = 15 * time.Second

// Set is the live servers, as this server sees them; it always holds this server.
type Set struct {
	client *clientv3.Client
	self   string
	log    *slog.Logger

	mu      sync.Mutex
	others  map[string]bool
	changed chan struct{} // closed and replaced on every change
}

// New returns the set of a server that advertises address.
func New(client *clientv3.Client, address string, log *slog.Logger) *Set {
	return &Set{client: client, self: address, log: log, others: map[string]bool{}, changed: make(chan struct{})}
}

// Addresses returns the live servers' addresses, sorted.
func (s *Set) Addresses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{s.self}
	for a := range s.others {
		out = append(out, a)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Changed returns a channel closed at the next change of Addresses.
func (s *Set) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Set) set(others map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if maps.Equal(s.others, others) {
		return
	}
	s.others = others
	close(s.changed)
	s.changed = make(chan struct{})
}

// Run keeps this server's key alive and the set current until ctx ends; then it
// deletes the key, so that the others drop this server at once.
func (s *Set) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.hold(ctx) }()
	go func() { defer wg.Done(); s.watch(ctx) }()
	wg.Wait()
}

// hold puts this server's key under a lease and keeps it alive, starting over with a
// new lease whenever the old one is lost (etcd unreachable for longer than the TTL).
func (s *Set) hold(ctx context.Context) {
	key := Prefix + s.self
	for ctx.Err() == nil {
		lease, err := s.client.Grant(ctx, int64(TTL/time.Second))
		if err == nil {
			_, err = s.client.Put(ctx, key, s.self, clientv3.WithLease(lease.ID))
		}
		var alive <-chan *clientv3.LeaseKeepAliveResponse
		if err == nil {
			alive, err = s.client.KeepAlive(ctx, lease.ID)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("holding this server's lease", "err", err)
			}
			wait(ctx, time.Second)
			continue
		}
		lost := false
		for !lost && ctx.Err() == nil { // until the lease is lost or ctx ends
			select {
			case <-ctx.Done():
			case _, ok := <-alive:
				lost = !ok
			}
		}
		if ctx.Err() != nil {
			stop, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = s.client.Revoke(stop, lease.ID) // the key goes with it
			cancel()
			return
		}
		s.log.Warn("this server's lease was lost; taking a new one")
	}
}

// watch keeps the set: a listing, then the prefix's events from the listing's revision;
// a broken watch lists again.
func (s *Set) watch(ctx context.Context) {
	for ctx.Err() == nil {
		resp, err := s.client.Get(ctx, Prefix, clientv3.WithPrefix())
		if err != nil {
			wait(ctx, time.Second)
			continue
		}
		others := map[string]bool{}
		for _, kv := range resp.Kvs {
			others[strings.TrimPrefix(string(kv.Key), Prefix)] = true
		}
		s.set(without(others, s.self))
		s.follow(ctx, others, resp.Header.Revision+1)
		wait(ctx, 100*time.Millisecond)
	}
}

// follow applies the prefix's events from rev to others until the watch breaks or ctx
// ends. It does not wait for the watch's channel to close when ctx ends: the in-process
// client of an embedded member may not close it until the member stops.
func (s *Set) follow(ctx context.Context, others map[string]bool, rev int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	events := s.client.Watch(wctx, Prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-events:
			if !ok || w.Err() != nil {
				return
			}
			for _, ev := range w.Events {
				a := strings.TrimPrefix(string(ev.Kv.Key), Prefix)
				if ev.Type == clientv3.EventTypeDelete {
					delete(others, a)
				} else {
					others[a] = true
				}
			}
			s.set(without(others, s.self))
		}
	}
}

func without(m map[string]bool, k string) map[string]bool {
	out := make(map[string]bool, len(m))
	for a := range m {
		if a != k {
			out[a] = true
		}
	}
	return out
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
