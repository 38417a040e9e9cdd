package storage

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Delete removes the object at key after check accepts its current state, retrying if
// the object changes in between. It returns the deleted object, with the revision of the
// deletion as its resourceVersion. A missing key is ErrNotFound; an error from check is
// returned as it is and deletes nothing.
func (s *Store) Delete(ctx context.Context, key string, newObj func() runtime.Object, check func(current runtime.Object) error) (runtime.Object, error) {
	for {
		resp, err := s.client.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("delete %q: %w", key, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, fmt.Errorf("delete %q: %w", key, ErrNotFound)
		}
		kv := resp.Kvs[0]
		cur := newObj()
		if err := s.decode(kv.Value, kv.ModRevision, cur); err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(cur); err != nil {
				return nil, err
			}
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("delete %q: %w", key, err)
		}
		if txn.Succeeded {
			if err := setRV(cur, txn.Header.Revision); err != nil {
				return nil, err
			}
			return cur, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}
