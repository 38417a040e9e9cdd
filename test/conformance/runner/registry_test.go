package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestLocalRegistry pushes an image archive with two tags to the runner's registry and
// pulls it back through the mirror address registries.yaml names.
func TestLocalRegistry(t *testing.T) {
	dir := t.TempDir()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[name.Reference]v1.Image{}
	for _, s := range []string{"registry.k8s.io/e2e-test-images/kitten:1.8", "registry.k8s.io/e2e-test-images/kitten:latest"} {
		ref, err := name.ParseReference(s)
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = img
	}
	archive := filepath.Join(dir, "kitten.tar")
	if err := tarball.MultiRefWriteToFile(archive, refs); err != nil {
		t.Fatal(err)
	}
	r, err := startRegistry(t.Context(), filepath.Join(dir, "blobs"), "127.0.0.1", []string{archive})
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()

	want, _ := img.Digest()
	for _, tag := range []string{"1.8", "latest"} {
		ref, err := name.ParseReference(r.host+"/e2e-test-images/kitten:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pulling tag %s: %v", tag, err)
		}
		if d, _ := got.Digest(); d != want {
			t.Errorf("tag %s: digest %s, want %s", tag, d, want)
		}
	}
	conf := filepath.Join(dir, "registries.yaml")
	if err := r.writeMirrors(conf); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(conf); !strings.Contains(string(b), `registry.k8s.io:`) || !strings.Contains(string(b), "http://"+r.host) {
		t.Errorf("registries.yaml:\n%s", b)
	}
}
