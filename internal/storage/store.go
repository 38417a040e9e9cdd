package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel categories of storage errors; test them with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrConflict  = errors.New("resource version conflict")
	ErrCompacted = errors.New("resource version compacted")
	ErrTooLarge  = errors.New("resource version too large")
	// ErrObjectTooLarge: etcd refused a write for its size (its request limit, or the
	// client's message limit).
	ErrObjectTooLarge = errors.New("etcdserver: request is too large")
)

// writeError classifies the error of a write: a request too large for etcd becomes
// ErrObjectTooLarge, anything else is kept.
func writeError(err error) error {
	if errors.Is(err, rpctypes.ErrRequestTooLarge) || status.Code(err) == codes.ResourceExhausted {
		return ErrObjectTooLarge
	}
	return err
}

// Store keeps objects in etcd. It is safe for concurrent use.
type Store struct {
	client *clientv3.Client
	scheme *runtime.Scheme
	codec  *protobuf.Serializer
}

// New returns a Store on client that encodes the kinds registered in scheme.
func New(client *clientv3.Client, scheme *runtime.Scheme) *Store {
	return &Store{client: client, scheme: scheme, codec: protobuf.NewSerializer(scheme, scheme)}
}

// Client returns the etcd client the store uses.
func (s *Store) Client() *clientv3.Client { return s.client }

// Key returns the etcd key of an object: /registry/<resource>/<namespace>/<name>, or
// /registry/<resource>/<name> for cluster-scoped objects.
func Key(resource, namespace, name string) string {
	if namespace == "" {
		return "/registry/" + resource + "/" + name
	}
	return "/registry/" + resource + "/" + namespace + "/" + name
}

// Prefix returns the key prefix of a resource's objects, of one namespace when namespace
// is set.
func Prefix(resource, namespace string) string {
	if namespace == "" {
		return "/registry/" + resource + "/"
	}
	return "/registry/" + resource + "/" + namespace + "/"
}

// encode serializes obj without its resourceVersion, which etcd keeps instead.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	defer m.SetResourceVersion(rv)
	if u, ok := obj.(runtime.Unstructured); ok {
		// Custom resources are kept as JSON, as upstream keeps them.
		return json.Marshal(u.UnstructuredContent())
	}
	gvks, _, err := s.scheme.ObjectKinds(obj)
	if err != nil {
		return nil, err
	}
	kind := obj.GetObjectKind()
	old := kind.GroupVersionKind()
	kind.SetGroupVersionKind(gvks[0])
	defer kind.SetGroupVersionKind(old)
	return runtime.Encode(s.codec, obj)
}

// decode fills out from data and sets its resourceVersion to rev. The decoded object keeps
// the apiVersion and kind it was stored with, so that encoding it later does not write to
// it (objects in the watch cache are shared between readers).
func (s *Store) decode(data []byte, rev int64, out runtime.Object) error {
	if u, ok := out.(*unstructured.Unstructured); ok {
		if err := u.UnmarshalJSON(data); err != nil {
			return fmt.Errorf("decoding stored object: %w", err)
		}
		return setRV(out, rev)
	}
	if _, _, err := s.codec.Decode(data, nil, out); err != nil {
		return fmt.Errorf("decoding stored object: %w", err)
	}
	return setRV(out, rev)
}

func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// ParseRV parses a resourceVersion; "" and "0" give 0.
func ParseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	// As upstream: digits only (no sign), within an int64.
	n, err := strconv.ParseUint(rv, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("invalid resource version %q", rv)
	}
	return int64(n), nil
}
