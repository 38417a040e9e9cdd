package storage

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Create stores obj at key if nothing is there yet, and sets obj's resourceVersion to the
// revision that stored it. An existing key is ErrExists.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object) error {
	data, err := s.encode(obj)
	if err != nil {
		return fmt.Errorf("create %q: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		return fmt.Errorf("create %q: %w", key, writeError(err))
	}
	if !resp.Succeeded {
		return fmt.Errorf("create %q: %w", key, ErrExists)
	}
	return setRV(obj, resp.Header.Revision)
}
