package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	idA     = "sha256:a1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB     = "sha256:a2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in         string
		want       string
		wantDomain string
		wantPath   string
		wantErr    bool
	}{
		{in: "nginx", want: "docker.io/library/nginx:latest", wantDomain: "docker.io", wantPath: "library/nginx"},
		{in: "nginx:1.25", want: "docker.io/library/nginx:1.25", wantDomain: "docker.io", wantPath: "library/nginx"},
		{in: "user/app", want: "docker.io/user/app:latest", wantDomain: "docker.io", wantPath: "user/app"},
		{in: "index.docker.io/library/nginx", want: "docker.io/library/nginx:latest", wantDomain: "docker.io", wantPath: "library/nginx"},
		{in: "quay.io/a/b/c:v1", want: "quay.io/a/b/c:v1", wantDomain: "quay.io", wantPath: "a/b/c"},
		{in: "127.0.0.1:5000/busybox", want: "127.0.0.1:5000/busybox:latest", wantDomain: "127.0.0.1:5000", wantPath: "busybox"},
		{in: "localhost/app", want: "localhost/app:latest", wantDomain: "localhost", wantPath: "app"},
		{in: "nginx@" + digestA, want: "docker.io/library/nginx@" + digestA, wantDomain: "docker.io", wantPath: "library/nginx"},
		{in: "nginx:1.25@" + digestA, want: "docker.io/library/nginx@" + digestA, wantDomain: "docker.io", wantPath: "library/nginx"},
		{in: "Nginx", wantErr: true},
		{in: "", wantErr: true},
		{in: "a:b:c", wantErr: true},
	}
	for _, tt := range tests {
		r, err := parseRef(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseRef(%q): %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if r.String() != tt.want || r.domain() != tt.wantDomain || r.path() != tt.wantPath {
			t.Errorf("parseRef(%q) = %s (domain %s, path %s); want %s (%s, %s)", tt.in, r, r.domain(), r.path(), tt.want, tt.wantDomain, tt.wantPath)
		}
	}
	r, _ := parseRef("nginx:1.25")
	if diff := cmp.Diff([]string{"docker.io/library/nginx:1.25", "docker.io/library/nginx@" + digestA}, r.refs(digestA)); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
}

func testIndex() *index {
	ix := newIndex()
	ix.Images[idA] = &imageRecord{ID: idA, Manifest: digestA, Size: 10, User: "1000:1000"}
	ix.Images[idB] = &imageRecord{ID: idB, Manifest: digestB, Size: 20, User: "nginx"}
	ix.Refs["docker.io/library/a:1"] = refRecord{Image: idA, Target: digestA}
	ix.Refs["docker.io/library/a:2"] = refRecord{Image: idA, Target: digestA}
	ix.Refs["quay.io/x/a:1"] = refRecord{Image: idA, Target: digestA}
	ix.Refs["docker.io/library/a@"+digestA] = refRecord{Image: idA, Target: digestA}
	ix.Refs["quay.io/x/a@"+digestA] = refRecord{Image: idA, Target: digestA}
	ix.Refs["docker.io/library/b@"+digestB] = refRecord{Image: idB, Target: digestB}
	return ix
}

func TestResolve(t *testing.T) {
	ix := testIndex()
	tests := []struct {
		in      string
		wantID  string
		wantRef string
	}{
		{in: idA, wantID: idA},
		{in: idA[len("sha256:"):], wantID: idA},
		{in: "sha256:a1", wantID: idA},
		{in: "a2bb", wantID: idB},
		{in: "a", wantID: ""}, // docker.io/library/a:latest is absent; a prefix of both IDs
		{in: "a:1", wantID: idA, wantRef: "docker.io/library/a:1"},
		{in: "docker.io/library/a:2", wantID: idA, wantRef: "docker.io/library/a:2"},
		{in: "a@" + digestA, wantID: idA, wantRef: "docker.io/library/a@" + digestA},
		{in: "other/name@" + digestA, wantID: idA, wantRef: "docker.io/other/name@" + digestA},
		{in: "b", wantID: ""},
		{in: "b@" + digestB, wantID: idB, wantRef: "docker.io/library/b@" + digestB},
		{in: "sha256:" + digestA[len("sha256:"):len("sha256:")+10], wantID: ""},
		{in: "NOT A REF", wantID: ""},
	}
	for _, tt := range tests {
		img, ref := ix.resolve(tt.in)
		id := ""
		if img != nil {
			id = img.ID
		}
		if id != tt.wantID || ref != tt.wantRef {
			t.Errorf("resolve(%q) = %q, %q; want %q, %q", tt.in, id, ref, tt.wantID, tt.wantRef)
		}
	}
}

func TestCRIImage(t *testing.T) {
	ix := testIndex()
	want := &runtimeapi.Image{
		Id:          idA,
		RepoTags:    []string{"docker.io/library/a:1", "docker.io/library/a:2", "quay.io/x/a:1"},
		RepoDigests: []string{"docker.io/library/a@" + digestA, "quay.io/x/a@" + digestA},
		Size:        10,
		Uid:         &runtimeapi.Int64Value{Value: 1000},
		Spec:        &runtimeapi.ImageSpec{Image: idA},
	}
	if diff := cmp.Diff(want.String(), ix.cri(ix.Images[idA]).String()); diff != "" {
		t.Errorf("cri(a) (-want +got):\n%s", diff)
	}
	b := ix.cri(ix.Images[idB])
	if b.Username != "nginx" || b.Uid != nil || len(b.RepoTags) != 0 {
		t.Errorf("cri(b) = %v; want user nginx, no tags", b)
	}
}

func TestRemoveRef(t *testing.T) {
	tests := []struct {
		name     string
		remove   []string
		wantRefs []string
		wantA    bool
	}{{
		name:     "one of several tags",
		remove:   []string{"a:1"},
		wantRefs: []string{"docker.io/library/a:2", "docker.io/library/a@" + digestA, "quay.io/x/a:1", "quay.io/x/a@" + digestA},
		wantA:    true,
	}, {
		name:     "a repository's last tag takes its digests",
		remove:   []string{"quay.io/x/a:1"},
		wantRefs: []string{"docker.io/library/a:1", "docker.io/library/a:2", "docker.io/library/a@" + digestA},
		wantA:    true,
	}, {
		name:   "the image's last tag takes the image",
		remove: []string{"a:1", "quay.io/x/a:1", "a:2"},
	}, {
		name:   "by digest",
		remove: []string{"quay.io/x/a@" + digestA},
	}, {
		name:   "by ID",
		remove: []string{idA[:12]},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := testIndex()
			for _, r := range tt.remove {
				img, ref := ix.resolve(r)
				if img == nil {
					t.Fatalf("resolve(%q): nothing", r)
				}
				ix.removeRef(img, ref)
			}
			var refs []string
			for k, r := range ix.Refs {
				if r.Image == idA {
					refs = append(refs, k)
				}
			}
			if diff := cmp.Diff(tt.wantRefs, refs, cmpSorted); diff != "" {
				t.Errorf("names of a (-want +got):\n%s", diff)
			}
			if _, ok := ix.Images[idA]; ok != tt.wantA {
				t.Errorf("image a present = %v, want %v", ok, tt.wantA)
			}
			if _, ok := ix.Images[idB]; !ok {
				t.Error("image b removed")
			}
		})
	}
}

var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
})

func TestEndpoints(t *testing.T) {
	yaml := `
mirrors:
  docker.io:
    endpoint:
      - http://127.0.0.1:5000
      - https://mirror.example.com/v2/hub
    rewrite:
      "^library/(.*)": "mirrored/$1"
  quay.io:
    endpoint: ["quay.io"]
  "*":
    endpoint: ["http://catch-all:5000/"]
configs:
  "127.0.0.1:5000":
    auth: {username: u, password: p}
  mirror.example.com:
    tls: {insecure_skip_verify: true}
`
	path := filepath.Join(t.TempDir(), "registries.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := loadRegistries(path)
	if err != nil {
		t.Fatal(err)
	}
	type ep struct {
		URL, Ref string
		Insecure bool
	}
	tests := []struct {
		ref  string
		want []ep
	}{{
		ref: "busybox",
		want: []ep{
			{URL: "http://127.0.0.1:5000", Ref: "127.0.0.1:5000/mirrored/busybox:latest", Insecure: true},
			{URL: "https://mirror.example.com/v2/hub", Ref: "mirror.example.com/mirrored/busybox:latest", Insecure: true},
			{URL: "https://index.docker.io", Ref: "index.docker.io/library/busybox:latest"},
		},
	}, {
		ref:  "quay.io/a/b@" + digestA,
		want: []ep{{URL: "https://quay.io", Ref: "quay.io/a/b@" + digestA}},
	}, {
		ref: "ghcr.io/x/y:1",
		want: []ep{
			{URL: "http://catch-all:5000", Ref: "catch-all:5000/x/y:1", Insecure: true},
			{URL: "https://ghcr.io", Ref: "ghcr.io/x/y:1"},
		},
	}}
	for _, tt := range tests {
		r, err := parseRef(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		var got []ep
		for _, e := range reg.endpoints(r) {
			gref, err := e.reference(r)
			if err != nil {
				t.Fatalf("%s: %v", tt.ref, err)
			}
			got = append(got, ep{URL: e.url.String(), Ref: gref.String(), Insecure: e.insecure()})
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("endpoints(%s) (-want +got):\n%s", tt.ref, diff)
		}
	}

	missing, err := loadRegistries(filepath.Join(t.TempDir(), "absent.yaml"))
	if err != nil || len(missing.endpoints(mustRef(t, "busybox"))) != 1 {
		t.Errorf("a missing registries.yaml: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("mirrors:\n  docker.io:\n    endpoint: [\"ftp://x\"]\n"), 0o600)
	if _, err := loadRegistries(bad); err == nil {
		t.Error("an ftp endpoint: no error")
	}
}

func mustRef(t *testing.T, s string) imageRef {
	t.Helper()
	r, err := parseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCRIAuthServerAddress(t *testing.T) {
	tests := []struct {
		server, host string
		want         bool
	}{
		{"", "any.example.com", true},
		{"registry.example.com", "registry.example.com", true},
		{"https://registry.example.com/v1/", "registry.example.com", true},
		{"127.0.0.1:5000", "127.0.0.1:5000", true},
		{"https://index.docker.io/v1/", "index.docker.io", true},
		{"docker.io", "index.docker.io", true},
		{"registry.example.com", "other.example.com", false},
	}
	for _, tt := range tests {
		got := criAuth(&runtimeapi.AuthConfig{Username: "u", Password: "p", ServerAddress: tt.server}, tt.host) != nil
		if got != tt.want {
			t.Errorf("criAuth(server %q) for %s = %v, want %v", tt.server, tt.host, got, tt.want)
		}
	}
	if criAuth(&runtimeapi.AuthConfig{}, "x") != nil || criAuth(nil, "x") != nil {
		t.Error("empty CRI auth used")
	}
}

func TestFlightGroup(t *testing.T) {
	t.Run("one call for concurrent callers", func(t *testing.T) {
		var g flightGroup
		var calls atomic.Int32
		release := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]string, 5)
		for i := range results {
			wg.Go(func() {
				results[i], _ = g.do(context.Background(), "k", func(ctx context.Context) (string, error) {
					calls.Add(1)
					<-release
					return "v", nil
				})
			})
		}
		for g.waiting("k") < 5 {
			time.Sleep(time.Millisecond)
		}
		close(release)
		wg.Wait()
		if calls.Load() != 1 || results[0] != "v" || results[4] != "v" {
			t.Errorf("%d calls, results %v; want 1 call, all v", calls.Load(), results)
		}
	})
	t.Run("the call outlives a caller that gives up", func(t *testing.T) {
		var g flightGroup
		release := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		fn := func(ctx context.Context) (string, error) {
			select {
			case <-release:
				return "done", nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		first := make(chan error, 1)
		go func() { _, err := g.do(ctx, "k", fn); first <- err }()
		for g.waiting("k") < 1 {
			time.Sleep(time.Millisecond)
		}
		second := make(chan string, 1)
		go func() { v, _ := g.do(context.Background(), "k", fn); second <- v }()
		for g.waiting("k") < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("first caller: %v, want context.Canceled", err)
		}
		close(release)
		if v := <-second; v != "done" {
			t.Errorf("second caller got %q, want done", v)
		}
	})
	t.Run("the call stops when every caller gives up", func(t *testing.T) {
		var g flightGroup
		stopped := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			g.do(ctx, "k", func(ctx context.Context) (string, error) {
				<-ctx.Done()
				stopped <- ctx.Err()
				return "", ctx.Err()
			})
			close(done)
		}()
		for g.waiting("k") < 1 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		if err := <-stopped; !errors.Is(err, context.Canceled) {
			t.Errorf("the call's context: %v, want cancelled", err)
		}
	})
}

// waiting is the number of callers waiting for key.
func (g *flightGroup) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.calls[key]; f != nil {
		return f.waiters
	}
	return 0
}
