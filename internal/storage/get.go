package storage

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Get reads the object at key into out. A missing key is ErrNotFound.
func (s *Store) Get(ctx context.Context, key string, out runtime.Object) error {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get %q: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	kv := resp.Kvs[0]
	return s.decode(kv.Value, kv.ModRevision, out)
}

// Revision returns etcd's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/registry/", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("reading current revision: %w", err)
	}
	return resp.Header.Revision, nil
}
