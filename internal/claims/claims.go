package claims

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/utils/clock"
)

// Prefix is where the claims are, outside the API's /registry prefix.
const Prefix = "/podium/claims/"

// ErrTaken is returned when another owner holds the claim.
var ErrTaken = errors.New("claimed by another")

// Store takes and gives back claims.
type Store struct {
	kv    clientv3.KV
	clock clock.PassiveClock
}

// New returns the claims kept in kv.
func New(kv clientv3.KV, clk clock.PassiveClock) *Store { return &Store{kv: kv, clock: clk} }

// Claim is one item's claim.
type Claim struct {
	Item  string    `json:"-"`
	Owner string    `json:"owner"`
	At    time.Time `json:"at"` // when it was taken
	rev   int64
}

// Take claims item for owner. It succeeds when nobody holds the item or owner does
// already, and returns ErrTaken when another owner does.
func (s *Store) Take(ctx context.Context, item, owner string) error {
	key := Prefix + item
	val, err := json.Marshal(Claim{Owner: owner, At: s.clock.Now()})
	if err != nil {
		return err
	}
	resp, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(val))).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return fmt.Errorf("claiming %s: %w", item, err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 1 {
		var c Claim
		if json.Unmarshal(kvs[0].Value, &c) == nil && c.Owner == owner {
			return nil
		}
	}
	return ErrTaken
}

// Release gives item back if owner holds it.
func (s *Store) Release(ctx context.Context, item, owner string) error {
	key := Prefix + item
	resp, err := s.kv.Get(ctx, key)
	if err != nil || len(resp.Kvs) == 0 {
		return err
	}
	var c Claim
	if err := json.Unmarshal(resp.Kvs[0].Value, &c); err == nil && c.Owner != owner {
		return nil
	}
	return s.remove(ctx, key, resp.Kvs[0].ModRevision)
}

// Remove deletes c, unless it changed since it was listed.
func (s *Store) Remove(ctx context.Context, c Claim) error {
	return s.remove(ctx, Prefix+c.Item, c.rev)
}

func (s *Store) remove(ctx context.Context, key string, rev int64) error {
	_, err := s.kv.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).Then(clientv3.OpDelete(key)).Commit()
	return err
}

// List returns every claim whose item starts with prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]Claim, error) {
	resp, err := s.kv.Get(ctx, Prefix+prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]Claim, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		c := Claim{Item: strings.TrimPrefix(string(kv.Key), Prefix), rev: kv.ModRevision}
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			c.Owner = "" // unreadable: nobody holds it
		}
		out = append(out, c)
	}
	return out, nil
}
