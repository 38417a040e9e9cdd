package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ListOptions select and page a list.
type ListOptions struct {
	// Revision reads the list as of that etcd revision; 0 reads the latest.
	Revision int64
	// Limit caps the number of items returned; 0 returns all.
	Limit int64
	// Continue is the token of a previous page; it overrides Revision.
	Continue string
	// Filter, when set, keeps only the objects it accepts.
	Filter func(runtime.Object) bool
}

// ListResult is one page of a list.
type ListResult struct {
	Items []runtime.Object
	// Revision is the etcd revision the page was read at.
	Revision int64
	// Continue is set when more items follow; pass it back for the next page.
	Continue string
	// Remaining counts the items after this page, when known without a filter.
	Remaining *int64
}

// ErrBadContinue marks a continue token that cannot be parsed.
var ErrBadContinue = errors.New("invalid continue token")

// continueToken is the opaque cursor of a paged list, in the shape clients have seen from
// Kubernetes: the revision the first page was read at and the next key to read.
type continueToken struct {
	APIVersion string `json:"v"`
	Revision   int64  `json:"rv"`
	Start      string `json:"start"`
}

func encodeContinue(rev int64, next, prefix string) string {
	data, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", Revision: rev, Start: strings.TrimPrefix(next, prefix)})
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeContinue(token, prefix string) (rev int64, start string, err error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrBadContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || (t.Revision <= 0 && t.Revision != inconsistent) {
		return 0, "", fmt.Errorf("%w: %q", ErrBadContinue, token)
	}
	// The start key must not climb out of the prefix. Names may hold ".." (core/v1
	// events are named by path segment rules), so only a whole ".." segment is refused.
	if strings.HasPrefix(t.Start, "/") || slices.Contains(strings.Split(t.Start, "/"), "..") {
		return 0, "", fmt.Errorf("%w: %q", ErrBadContinue, token)
	}
	return t.Revision, prefix + t.Start, nil
}

// inconsistent is the revision of a continue token that reads the rest of a list at the
// latest revision, as upstream's: the token a 410 for a compacted continue carries.
const inconsistent = -1

// ExpiredContinueError is a continue token whose revision etcd compacted away. Token
// continues the same list at the latest revision, inconsistently.
type ExpiredContinueError struct {
	Err   error
	Token string
}

func (e *ExpiredContinueError) Error() string { return e.Err.Error() }
func (e *ExpiredContinueError) Unwrap() error { return e.Err }

// List reads the objects under prefix. newObj makes an empty object of the resource's
// kind. A revision that etcd compacted away is ErrCompacted.
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions, newObj func() runtime.Object) (ListResult, error) {
	start, rev := prefix, opts.Revision
	if opts.Continue != "" {
		var err error
		if rev, start, err = decodeContinue(opts.Continue, prefix); err != nil {
			return ListResult{}, err
		}
		if rev == inconsistent {
			rev = 0
		}
	}
	end := clientv3.GetPrefixRangeEnd(prefix)

	var res ListResult
	chunk := opts.Limit
	if chunk > 0 && opts.Filter != nil && chunk < 100 {
		chunk = 100 // read ahead: a filter may drop most keys
	}
	for {
		ops := []clientv3.OpOption{clientv3.WithRange(end)}
		if rev > 0 {
			ops = append(ops, clientv3.WithRev(rev))
		}
		if chunk > 0 {
			ops = append(ops, clientv3.WithLimit(chunk))
		}
		resp, err := s.client.Get(ctx, start, ops...)
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				err := fmt.Errorf("list %q at %d: %w", prefix, rev, ErrCompacted)
				if opts.Continue != "" {
					return ListResult{}, &ExpiredContinueError{Err: err, Token: encodeContinue(inconsistent, start, prefix)}
				}
				return ListResult{}, err
			}
			if errors.Is(err, rpctypes.ErrFutureRev) {
				return ListResult{}, fmt.Errorf("list %q at %d: %w", prefix, rev, ErrTooLarge)
			}
			return ListResult{}, fmt.Errorf("list %q: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		res.Revision = rev
		for i, kv := range resp.Kvs {
			obj := newObj()
			if err := s.decode(kv.Value, kv.ModRevision, obj); err != nil {
				return ListResult{}, fmt.Errorf("list %q: key %q: %w", prefix, kv.Key, err)
			}
			if opts.Filter != nil && !opts.Filter(obj) {
				continue
			}
			res.Items = append(res.Items, obj)
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				more := i < len(resp.Kvs)-1 || resp.More
				if more {
					res.Continue = encodeContinue(rev, string(kv.Key)+"\x00", prefix)
					if opts.Filter == nil {
						left := resp.Count - int64(i) - 1
						res.Remaining = &left
					}
				}
				return res, nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return res, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// ContinueToken returns the token that continues a list read at rev after lastKey, for
// lists served from the cache that stop at a limit.
func ContinueToken(rev int64, lastKey, prefix string) string {
	return encodeContinue(rev, lastKey+"\x00", prefix)
}
