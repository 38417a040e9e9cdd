package image

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestPullAnonymous(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	img := twoLayerImage(t)
	ref := reg.push(t, "test/busybox:1.0", img)
	s, _ := newStore(t, "")

	id := pull(t, s, ref, nil)
	if want := configDigest(t, img); id != want {
		t.Fatalf("image ID = %s, want the config digest %s", id, want)
	}
	got := status(t, s, ref)
	want := &runtimeapi.Image{
		Id:          id,
		RepoTags:    []string{reg.host + "/test/busybox:1.0"},
		RepoDigests: []string{reg.host + "/test/busybox@" + manifestDigest(t, img)},
		Size:        compressedSize(t, img),
		Uid:         &runtimeapi.Int64Value{Value: 1000},
		Spec:        &runtimeapi.ImageSpec{Image: id},
	}
	if diff := cmp.Diff(want.String(), got.String()); diff != "" {
		t.Errorf("ImageStatus (-want +got):\n%s", diff)
	}
	for _, name := range []string{id, id[len("sha256:"):], id[:len("sha256:")+12], id[len("sha256:") : len("sha256:")+5], reg.host + "/test/busybox@" + manifestDigest(t, img)} {
		if img := status(t, s, name); img == nil || img.Id != id {
			t.Errorf("ImageStatus(%q) = %v, want image %s", name, img, id)
		}
	}
	if img := status(t, s, reg.host+"/test/busybox:2.0"); img != nil {
		t.Errorf("ImageStatus of an absent tag = %v, want nil", img)
	}

	list, err := s.ListImages(context.Background())
	if err != nil || len(list) != 1 || list[0].Id != id {
		t.Fatalf("ListImages = %v, %v; want the one image", list, err)
	}
	cfg, err := s.Config(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/bin/sh", "-c", "echo two"}, cfg.Config.Cmd); diff != "" {
		t.Errorf("Config().Cmd (-want +got):\n%s", diff)
	}
	if _, err := s.Config(context.Background(), "absent:1"); err == nil {
		t.Error("Config of an absent image: no error")
	}
}

func TestPullTwiceDownloadsOnce(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	ref := reg.push(t, "test/busybox:latest", twoLayerImage(t))
	s, _ := newStore(t, "")

	id1 := pull(t, s, ref, nil)
	total1, _ := reg.gets()
	id2 := pull(t, s, ref, nil)
	total2, _ := reg.gets()
	if id1 != id2 {
		t.Errorf("second pull gave %s, first %s", id2, id1)
	}
	if total1 != 3 { // two layers and the config
		t.Errorf("first pull downloaded %d blobs, want 3", total1)
	}
	if total2 != total1 {
		t.Errorf("second pull downloaded %d more blobs, want none", total2-total1)
	}

	// A second store on the same root (another process) sees the image.
	s2, err := New(Config{Root: s.root})
	if err != nil {
		t.Fatal(err)
	}
	if img := status(t, s2, ref); img == nil || img.Id != id1 {
		t.Errorf("a second store on the same root: ImageStatus = %v", img)
	}
}

func TestConcurrentPulls(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, func(r *testRegistry) { r.delay = 50 * 1e6 })
	base := baseLayer(t)
	a := testImage(t, "a", base, topLayer(t))
	b := testImage(t, "b", base)
	refA := reg.push(t, "test/a:1", a)
	refB := reg.push(t, "test/b:1", b)
	s, _ := newStore(t, "")

	var wg sync.WaitGroup
	ids := make([]string, 10)
	errs := make([]error, 10)
	for i := range ids {
		ref := refA
		if i%2 == 1 {
			ref = refB
		}
		wg.Go(func() {
			ids[i], errs[i] = s.PullImage(context.Background(), &runtimeapi.ImageSpec{Image: ref}, nil)
		})
	}
	wg.Wait()
	for i := range ids {
		want := configDigest(t, a)
		if i%2 == 1 {
			want = configDigest(t, b)
		}
		if errs[i] != nil || ids[i] != want {
			t.Errorf("pull %d = %s, %v; want %s", i, ids[i], errs[i], want)
		}
	}
	// Blobs: a's config, b's config, the shared layer, a's top layer.
	if total, most := reg.gets(); total != 4 || most != 1 {
		t.Errorf("blob downloads: %d in all, at most %d of one; want 4 and 1", total, most)
	}
}

func TestPullWithCredentials(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, func(r *testRegistry) { r.user, r.password = "alice", "s3cret" })
	ref := reg.push(t, "private/busybox:latest", twoLayerImage(t))
	basic := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))

	tests := []struct {
		name     string
		registry string // registries.yaml
		auth     *runtimeapi.AuthConfig
		wantErr  bool
	}{
		{name: "anonymous", wantErr: true},
		{name: "wrong password", auth: &runtimeapi.AuthConfig{Username: "alice", Password: "nope"}, wantErr: true},
		{name: "CRI username and password", auth: &runtimeapi.AuthConfig{Username: "alice", Password: "s3cret"}},
		{name: "CRI auth", auth: &runtimeapi.AuthConfig{Auth: basic}},
		{name: "CRI credentials for this server", auth: &runtimeapi.AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: reg.host}},
		{name: "CRI credentials for another server", auth: &runtimeapi.AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: "other.example.com"}, wantErr: true},
		{name: "registries.yaml", registry: fmt.Sprintf("configs:\n  %q:\n    auth:\n      username: alice\n      password: s3cret\n", reg.host)},
		{name: "registries.yaml auth", registry: fmt.Sprintf("configs:\n  %q:\n    auth:\n      auth: %s\n", reg.host, basic)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, tt.registry)
			id, err := s.PullImage(context.Background(), &runtimeapi.ImageSpec{Image: ref}, tt.auth)
			if (err != nil) != tt.wantErr {
				t.Fatalf("pull = %q, %v; want error %v", id, err, tt.wantErr)
			}
		})
	}
}

func TestPullThroughMirror(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	img := twoLayerImage(t)
	reg.push(t, "library/busybox:latest", img)
	reg.push(t, "mirrored/busybox:1.36", img)
	// The registry again, under a path: http://proxy/prefix/v2/... is its /v2/....
	target, _ := url.Parse(reg.srv.URL)
	proxy := httptest.NewServer(http.StripPrefix("/prefix", httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(proxy.Close)

	tests := []struct {
		name     string
		registry string
		ref      string
		wantTag  string
	}{{
		name:     "docker.io mirror",
		registry: fmt.Sprintf("mirrors:\n  docker.io:\n    endpoint:\n      - http://%s\n", reg.host),
		ref:      "busybox",
		wantTag:  "docker.io/library/busybox:latest",
	}, {
		name:     "wildcard mirror",
		registry: fmt.Sprintf("mirrors:\n  \"*\":\n    endpoint: [\"http://%s\"]\n", reg.host),
		ref:      "docker.io/library/busybox:latest",
		wantTag:  "docker.io/library/busybox:latest",
	}, {
		name:     "rewrite",
		registry: fmt.Sprintf("mirrors:\n  docker.io:\n    endpoint: [\"http://%s\"]\n    rewrite:\n      \"^library/(.*)\": \"mirrored/$1\"\n", reg.host),
		ref:      "busybox:1.36",
		wantTag:  "docker.io/library/busybox:1.36",
	}, {
		name:     "endpoint with the /v2 path",
		registry: fmt.Sprintf("mirrors:\n  registry.example.com:\n    endpoint: [\"http://%s/v2\"]\n", reg.host),
		ref:      "registry.example.com/library/busybox",
		wantTag:  "registry.example.com/library/busybox:latest",
	}, {
		name:     "endpoint with a path",
		registry: fmt.Sprintf("mirrors:\n  registry.example.com:\n    endpoint: [\"%s/prefix/v2\"]\n", proxy.URL),
		ref:      "registry.example.com/library/busybox",
		wantTag:  "registry.example.com/library/busybox:latest",
	}, {
		name:     "first mirror down",
		registry: fmt.Sprintf("mirrors:\n  docker.io:\n    endpoint: [\"http://127.0.0.1:1\", \"http://%s\"]\n", reg.host),
		ref:      "busybox",
		wantTag:  "docker.io/library/busybox:latest",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, tt.registry)
			id := pull(t, s, tt.ref, nil)
			got := status(t, s, tt.ref)
			if got == nil || got.Id != id || len(got.RepoTags) != 1 || got.RepoTags[0] != tt.wantTag {
				t.Fatalf("ImageStatus(%q) = %v; want tag %s", tt.ref, got, tt.wantTag)
			}
			wantDigest := repoOf(tt.wantTag) + "@" + manifestDigest(t, img)
			if diff := cmp.Diff([]string{wantDigest}, got.RepoDigests); diff != "" {
				t.Errorf("RepoDigests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPullTLS(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, true, nil)
	ref := reg.push(t, "tls/busybox:latest", twoLayerImage(t))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := reg.srv.Certificate()
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		registry string
		wantErr  bool
	}{
		{name: "unknown authority", wantErr: true},
		{name: "insecure_skip_verify", registry: fmt.Sprintf("configs:\n  %q:\n    tls:\n      insecure_skip_verify: true\n", reg.host)},
		{name: "ca_file", registry: fmt.Sprintf("configs:\n  %q:\n    tls:\n      ca_file: %s\n", reg.host, caFile)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, tt.registry)
			_, err := s.PullImage(context.Background(), &runtimeapi.ImageSpec{Image: ref}, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("pull: %v; want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestPullByDigest(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	img := twoLayerImage(t)
	reg.push(t, "test/busybox:latest", img)
	s, _ := newStore(t, "")

	ref := reg.host + "/test/busybox@" + manifestDigest(t, img)
	id := pull(t, s, ref, nil)
	got := status(t, s, ref)
	if got == nil || got.Id != id || len(got.RepoTags) != 0 {
		t.Fatalf("ImageStatus(%q) = %v; want the image without tags", ref, got)
	}
	if diff := cmp.Diff([]string{ref}, got.RepoDigests); diff != "" {
		t.Errorf("RepoDigests (-want +got):\n%s", diff)
	}
	// Present by digest: pulling again asks the registry nothing.
	reg.srv.Close()
	if again := pull(t, s, ref, nil); again != id {
		t.Errorf("second pull by digest = %s, want %s", again, id)
	}
}

func TestPullIndexPicksPlatform(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	ours := twoLayerImage(t)
	other, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	otherArch := "s390x"
	if goruntime.GOARCH == otherArch {
		otherArch = "arm64"
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: otherArch}}},
		mutate.IndexAddendum{Add: ours, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}}},
	)
	ref := reg.pushIndex(t, "test/multi:1", idx)
	s, _ := newStore(t, "")

	id := pull(t, s, ref, nil)
	if want := configDigest(t, ours); id != want {
		t.Fatalf("pulled %s, want this platform's image %s", id, want)
	}
	got := status(t, s, ref)
	if diff := cmp.Diff([]string{reg.host + "/test/multi@" + manifestDigest(t, idx)}, got.RepoDigests); diff != "" {
		t.Errorf("RepoDigests name the index (-want +got):\n%s", diff)
	}
	// The platform manifest's digest names the image too.
	if img := status(t, s, reg.host+"/test/multi@"+manifestDigest(t, ours)); img == nil || img.Id != id {
		t.Errorf("ImageStatus by the platform manifest digest = %v", img)
	}
}
