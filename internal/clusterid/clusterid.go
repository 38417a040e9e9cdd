package clusterid

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/podium/podium/internal/pki"
)

// Key is where the record is kept in etcd, outside the API's /registry prefix.
const Key = "/podium/bootstrap"

// iterations of PBKDF2: the secret is 24 random bytes when podium makes it, so the
// count guards only tokens that people choose.
const iterations = 100_000

// record is the stored form: the secret's hash, the salt of the key, and the sealed
// files (a JSON map from path in the data directory to content).
type record struct {
	TokenHash string `json:"tokenHash"` // hex SHA-256 of "podium-bootstrap:" + secret
	Salt      []byte `json:"salt"`
	Nonce     []byte `json:"nonce"`
	Sealed    []byte `json:"sealed"`
}

// ErrOtherCluster is returned when the datastore holds the identity of a cluster whose
// join secret is not the one given.
var ErrOtherCluster = errors.New("the datastore holds another cluster's identity: start this server with --token set to that cluster's token (`podium server token` on one of its servers)")

// Files are the paths, inside a data directory, of what every server of a cluster shares.
func Files(f pki.Files) []string {
	return []string{
		f.CACert(), f.CAKey(), f.FrontProxyCACert(), f.FrontProxyCAKey(),
		f.ServiceAccountKey(), f.AdminToken(), f.JoinToken(),
	}
}

// Secret returns the join secret to use: the one in token (a full K10 token or a bare
// secret) when it is given, or else the one kept in the data directory, or "" when there
// is none yet. A full token's CA hash is returned too, for Sync's caller to check.
func Secret(f pki.Files, token string) (secret string, caHash []byte, err error) {
	if token != "" {
		caHash, secret, err := pki.ParseJoinToken(token)
		return secret, caHash, err
	}
	data, err := os.ReadFile(f.JoinToken())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(string(data)), nil, nil
}

// Fetch reads the record and, when there is one, writes its files into the data
// directory (replacing whatever was there) and returns true. With no record it returns
// false and changes nothing. A record sealed under another secret is ErrOtherCluster.
func Fetch(ctx context.Context, kv clientv3.KV, f pki.Files, secret string) (bool, error) {
	resp, err := kv.Get(ctx, Key)
	if err != nil {
		return false, fmt.Errorf("reading the cluster's identity from etcd: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return false, nil
	}
	files, err := Open(resp.Kvs[0].Value, secret)
	if err != nil {
		return false, err
	}
	return true, write(f, files)
}

// Install writes the files of a sealed record (as another server handed it over) into
// the data directory.
func Install(f pki.Files, sealed []byte, secret string) error {
	files, err := Open(sealed, secret)
	if err != nil {
		return err
	}
	return write(f, files)
}

// Store seals the shared files of the data directory under secret and stores them,
// unless a record is there already, in which case that one's files are written into
// the data directory instead (another server was first). It returns whether the data
// directory's files changed.
func Store(ctx context.Context, kv clientv3.KV, f pki.Files, secret string) (changed bool, err error) {
	files := map[string][]byte{}
	for _, p := range Files(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			return false, err
		}
		files[rel(f, p)] = data
	}
	sealed, err := Seal(files, secret)
	if err != nil {
		return false, err
	}
	resp, err := kv.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(Key), "=", 0)).
		Then(clientv3.OpPut(Key, string(sealed))).Else(clientv3.OpGet(Key)).Commit()
	if err != nil {
		return false, fmt.Errorf("storing the cluster's identity in etcd: %w", err)
	}
	if resp.Succeeded {
		return false, nil
	}
	theirs, err := Open(resp.Responses[0].GetResponseRange().Kvs[0].Value, secret)
	if err != nil {
		return false, err
	}
	if sameFiles(files, theirs) {
		return false, nil
	}
	return true, write(f, theirs)
}

// Seal encrypts files under a key derived from secret.
func Seal(files map[string][]byte, secret string) ([]byte, error) {
	plain, err := json.Marshal(files)
	if err != nil {
		return nil, err
	}
	r := record{TokenHash: tokenHash(secret), Salt: make([]byte, 16)}
	if _, err := rand.Read(r.Salt); err != nil {
		return nil, err
	}
	aead, err := newAEAD(secret, r.Salt)
	if err != nil {
		return nil, err
	}
	r.Nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(r.Nonce); err != nil {
		return nil, err
	}
	r.Sealed = aead.Seal(nil, r.Nonce, plain, []byte(Key))
	return json.Marshal(r)
}

// Open decrypts a record sealed under secret.
func Open(data []byte, secret string) (map[string][]byte, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("the cluster's identity in etcd is malformed: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(r.TokenHash), []byte(tokenHash(secret))) != 1 {
		return nil, ErrOtherCluster
	}
	aead, err := newAEAD(secret, r.Salt)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, r.Nonce, r.Sealed, []byte(Key))
	if err != nil {
		return nil, fmt.Errorf("the cluster's identity in etcd does not decrypt with this token: %w", err)
	}
	files := map[string][]byte{}
	if err := json.Unmarshal(plain, &files); err != nil {
		return nil, fmt.Errorf("the cluster's identity in etcd is malformed: %w", err)
	}
	return files, nil
}

func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte("podium-bootstrap:" + secret))
	return hex.EncodeToString(sum[:])
}

func newAEAD(secret string, salt []byte) (cipher.AEAD, error) {
	key, err := pbkdf2.Key(sha256.New, secret, salt, iterations, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func rel(f pki.Files, p string) string {
	r, _ := filepath.Rel(f.Dir, p)
	return filepath.ToSlash(r)
}

// write puts the record's files into the data directory, each with mode 0600. Only the
// shared files' names are accepted, so a record cannot write elsewhere.
func write(f pki.Files, files map[string][]byte) error {
	known := map[string]string{}
	for _, p := range Files(f) {
		known[rel(f, p)] = p
	}
	for name := range files {
		if _, ok := known[name]; !ok {
			return fmt.Errorf("the cluster's identity in etcd names an unknown file %q", name)
		}
	}
	for name, p := range known {
		data, ok := files[name]
		if !ok {
			return fmt.Errorf("the cluster's identity in etcd lacks %s", name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	return nil
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
