package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// busyboxPath is Debian's static busybox (package busybox-static, installed by
// `make deps`).
const busyboxPath = "/bin/busybox"

// missing stops a test whose prerequisite is absent: a failure under CI=true, a skip
// elsewhere.
func missing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("prerequisite missing: %s", what)
	}
	t.Skipf("prerequisite missing: %s", what)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "root (chown, mknod and trusted.* xattrs while unpacking; overlay mounts)")
	}
}

func busybox(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(busyboxPath)
	if err != nil {
		missing(t, busyboxPath+" (Debian package busybox-static; `make deps`)")
	}
	return b
}

// tarEntry is one entry of a test layer; Body is the content of regular files.
type tarEntry struct {
	tar.Header
	Body string
}

func dir(name string, mode int64) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}

func file(name string, mode int64, body string) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode}, Body: body}
}

func symlink(name, target string) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

var testTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func tarBytes(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = testTime
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerOf(t *testing.T, tarball_ []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarball_)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// baseLayer holds busybox with links to it, files the next layer deletes or hides,
// and entries with particular owners, modes, xattrs and types.
func baseLayer(t *testing.T) v1.Layer {
	bb := string(busybox(t))
	owned := dir("home/user/", 0o750)
	owned.Uid, owned.Gid = 1000, 1000
	profile := file("home/user/.profile", 0o600, "export PS1='$ '\n")
	profile.Uid, profile.Gid = 1000, 1000
	xattr := file("etc/xattr", 0o644, "x")
	xattr.PAXRecords = map[string]string{"SCHILY.xattr.user.podium": "yes"}
	null := tarEntry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}
	return layerOf(t, tarBytes(t,
		dir("./", 0o755),
		dir("bin/", 0o755),
		file("bin/busybox", 0o755, bb),
		symlink("bin/sh", "busybox"),
		symlink("bin/ls", "/bin/busybox"),
		hardlink("bin/busybox-hard", "bin/busybox"),
		dir("etc/", 0o755),
		file("etc/hostname", 0o644, "podium\n"),
		file("etc/removed", 0o644, "removed by the next layer\n"),
		xattr,
		dir("opq/", 0o755),
		file("opq/lower-file", 0o644, "lower\n"),
		dir("home/", 0o755),
		owned,
		profile,
		dir("usr/bin/", 0o755),
		file("usr/bin/setuid", 0o4755, "#!/bin/sh\n"),
		dir("tmp/", 0o1777),
		dir("dev/", 0o755),
		null,
	))
}

// topLayer deletes etc/removed and bin/ls, makes opq opaque and adds files.
func topLayer(t *testing.T) v1.Layer {
	return layerOf(t, tarBytes(t,
		file("etc/.wh.removed", 0o644, ""),
		file("bin/.wh.ls", 0o644, ""),
		dir("opq/", 0o755),
		file("opq/.wh..wh..opq", 0o644, ""),
		file("opq/upper-file", 0o644, "upper\n"),
		file("etc/layer2", 0o644, "two\n"),
	))
}

// testImage builds an image of layers with a config running busybox as uid 1000.
func testImage(t *testing.T, cmd string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{
		Cmd:        []string{"/bin/sh", "-c", cmd},
		Env:        []string{"PATH=/bin"},
		User:       "1000",
		WorkingDir: "/",
	})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// twoLayerImage is busybox plus a layer with whiteouts and an opaque directory.
func twoLayerImage(t *testing.T) v1.Image {
	return testImage(t, "echo two", baseLayer(t), topLayer(t))
}

// testRegistry is go-containerregistry's in-memory registry on loopback, counting the
// blob downloads and optionally asking for basic auth.
type testRegistry struct {
	srv  *httptest.Server
	host string

	user, password string        // basic auth required when set
	delay          time.Duration // before each blob download

	mu       sync.Mutex     // guards blobGets
	blobGets map[string]int // GETs of /v2/<repo>/blobs/<digest>, by digest
}

func newRegistry(t *testing.T, tlsServer bool, configure func(*testRegistry)) *testRegistry {
	t.Helper()
	r := &testRegistry{blobGets: map[string]int{}}
	if configure != nil {
		configure(r)
	}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != r.user || p != r.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:") {
			d := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
			r.mu.Lock()
			r.blobGets[d]++
			r.mu.Unlock()
			time.Sleep(r.delay)
		}
		inner.ServeHTTP(w, req)
	})
	r.srv = httptest.NewUnstartedServer(h)
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsServer {
		r.srv.StartTLS()
	} else {
		r.srv.Start()
	}
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(strings.TrimPrefix(r.srv.URL, "http://"), "https://")
	return r
}

func (r *testRegistry) options() []remote.Option {
	opts := []remote.Option{remote.WithTransport(r.srv.Client().Transport)}
	if r.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.password}))
	}
	return opts
}

// push uploads img as host/repoTag and returns the full reference.
func (r *testRegistry) push(t *testing.T, repoTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, r.options()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.String()
}

func (r *testRegistry) pushIndex(t *testing.T, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, r.options()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.String()
}

// gets returns the number of blob downloads, in all and of the most fetched blob.
func (r *testRegistry) gets() (total, most int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.blobGets {
		total += n
		most = max(most, n)
	}
	return total, most
}

func newStore(t *testing.T, registriesYAML string) (*store, string) {
	t.Helper()
	dir := t.TempDir()
	var regFile string
	if registriesYAML != "" {
		regFile = filepath.Join(dir, "registries.yaml")
		if err := os.WriteFile(regFile, []byte(registriesYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(dir, "images")
	s, err := New(Config{Root: root, RegistriesFile: regFile})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*store), root
}

func pull(t *testing.T, s Store, ref string, auth *runtimeapi.AuthConfig) string {
	t.Helper()
	id, err := s.PullImage(context.Background(), &runtimeapi.ImageSpec{Image: ref}, auth)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return id
}

func status(t *testing.T, s Store, ref string) *runtimeapi.Image {
	t.Helper()
	img, err := s.ImageStatus(context.Background(), &runtimeapi.ImageSpec{Image: ref})
	if err != nil {
		t.Fatalf("status %s: %v", ref, err)
	}
	return img
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func manifestDigest(t *testing.T, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// compressedSize is what an image's Size must be: its layers' compressed sizes.
func compressedSize(t *testing.T, img v1.Image) uint64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return uint64(n)
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
