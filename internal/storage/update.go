package storage

import (
	"bytes"
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// UpdateFunc computes the next state of an object from its current one. It may be
// called more than once, each time with a fresh copy of the current object, and must not
// keep it. Returning an error aborts the update with that error.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// Update reads the object at key, applies fn, and writes the result if the object did not
// change in between, retrying otherwise. A result that encodes to the stored bytes is not
// written. It returns the stored object with its resourceVersion. A missing key is
// ErrNotFound.
func (s *Store) Update(ctx context.Context, key string, newObj func() runtime.Object, fn UpdateFunc) (runtime.Object, error) {
	for {
		resp, err := s.client.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("update %q: %w", key, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, fmt.Errorf("update %q: %w", key, ErrNotFound)
		}
		kv := resp.Kvs[0]
		cur := newObj()
		if err := s.decode(kv.Value, kv.ModRevision, cur); err != nil {
			return nil, err
		}
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		data, err := s.encode(next)
		if err != nil {
			return nil, fmt.Errorf("update %q: %w", key, err)
		}
		if bytes.Equal(data, kv.Value) {
			if err := setRV(next, kv.ModRevision); err != nil {
				return nil, err
			}
			return next, nil
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, string(data))).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("update %q: %w", key, writeError(err))
		}
		if txn.Succeeded {
			if err := setRV(next, txn.Header.Revision); err != nil {
				return nil, err
			}
			return next, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}
