package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func imported(t *testing.T, s Store, archive []byte) []*runtimeapi.Image {
	t.Helper()
	imgs, err := s.Import(context.Background(), bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return imgs
}

func tagsByID(imgs []*runtimeapi.Image) map[string][]string {
	out := map[string][]string{}
	for _, img := range imgs {
		out[img.Id] = append([]string{}, img.RepoTags...)
	}
	return out
}

func TestImportDockerSave(t *testing.T) {
	requireRoot(t)
	a := twoLayerImage(t)
	b := testImage(t, "b", baseLayer(t))
	var buf bytes.Buffer
	err := tarball.MultiRefWrite(map[name.Reference]v1.Image{
		name.MustParseReference("busybox:a"):                  a,
		name.MustParseReference("example.com/team/busybox:b"): b,
		name.MustParseReference("busybox:b"):                  b,
	}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()

	for _, tt := range []struct {
		name    string
		archive []byte
	}{{"plain", buf.Bytes()}, {"gzipped", gz.Bytes()}} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, "")
			got := tagsByID(imported(t, s, tt.archive))
			want := map[string][]string{
				configDigest(t, a): {"docker.io/library/busybox:a"},
				configDigest(t, b): {"docker.io/library/busybox:b", "example.com/team/busybox:b"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("imported images (-want +got):\n%s", diff)
			}
			if img := status(t, s, "busybox:a"); img == nil || img.Size != compressedSize(t, a) {
				t.Errorf("ImageStatus(busybox:a) = %v, want size %d", img, compressedSize(t, a))
			}
			if _, err := s.Prepare(context.Background(), "busybox:a", "c1"); err != nil {
				t.Errorf("Prepare an imported image: %v", err)
			}
		})
	}
}

// TestImportDockerSaveUncompressed imports an archive as `docker save` writes it:
// uncompressed layer.tar files, and a layer stored once for two images (by symlink).
func TestImportDockerSaveUncompressed(t *testing.T) {
	requireRoot(t)
	base := tarBytes(t, dir("bin/", 0o755), file("bin/busybox", 0o755, string(busybox(t))), symlink("bin/sh", "busybox"))
	top := tarBytes(t, file("etc/hostname", 0o644, "podium\n"))
	diffID := func(b []byte) v1.Hash {
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	config := func(layers ...[]byte) []byte {
		cf := &v1.ConfigFile{OS: "linux", Architecture: goruntime.GOARCH, RootFS: v1.RootFS{Type: "layers"}}
		cf.Config.Cmd = []string{"/bin/sh"}
		for _, l := range layers {
			cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, diffID(l))
		}
		b, err := json.Marshal(cf)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cfgA, cfgB := config(base, top), config(base)
	manifest, err := json.Marshal([]map[string]any{
		{"Config": "a.json", "RepoTags": []string{"podium/a:1"}, "Layers": []string{"l1/layer.tar", "l2/layer.tar"}},
		{"Config": "b.json", "RepoTags": []string{"podium/b:1"}, "Layers": []string{"l3/layer.tar"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	archive := tarBytes(t,
		file("a.json", 0o644, string(cfgA)),
		file("b.json", 0o644, string(cfgB)),
		dir("l1/", 0o755),
		file("l1/layer.tar", 0o644, string(base)),
		dir("l2/", 0o755),
		file("l2/layer.tar", 0o644, string(top)),
		dir("l3/", 0o755),
		symlink("l3/layer.tar", "../l1/layer.tar"),
		file("manifest.json", 0o644, string(manifest)),
	)
	s, root := newStore(t, "")
	got := tagsByID(imported(t, s, archive))
	idA, idB := "sha256:"+diffID(cfgA).Hex, "sha256:"+diffID(cfgB).Hex
	want := map[string][]string{idA: {"docker.io/podium/a:1"}, idB: {"docker.io/podium/b:1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("imported images (-want +got):\n%s", diff)
	}
	// Uncompressed layers are their own blobs: digest = diffID.
	if img := status(t, s, "podium/a:1"); img == nil || img.Size != uint64(len(base)+len(top)) {
		t.Errorf("ImageStatus(podium/a:1) = %v, want size %d", img, len(base)+len(top))
	}
	if _, err := os.Stat(filepath.Join(root, "layers", diffID(base).Hex, "bin", "busybox")); err != nil {
		t.Errorf("shared layer not unpacked: %v", err)
	}
	if n := len(dirNames(t, filepath.Join(root, "layers"))); n != 2 {
		t.Errorf("%d unpacked layers, want 2", n)
	}
}

func TestImportOCILayout(t *testing.T) {
	requireRoot(t)
	a := twoLayerImage(t)
	other, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	multi := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "windows", Architecture: goruntime.GOARCH}}},
		mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}}},
	)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(a, layout.WithAnnotations(map[string]string{annotationRefName: "docker.io/library/busybox:oci"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(multi, layout.WithAnnotations(map[string]string{annotationContainerdName: "quay.io/podium/multi:1", annotationRefName: "1"})); err != nil {
		t.Fatal(err)
	}
	s, _ := newStore(t, "")
	got := imported(t, s, tarDir(t, dir))
	if len(got) != 1 {
		t.Fatalf("imported %d images, want 1 (both entries are the same image): %v", len(got), got)
	}
	if got[0].Id != configDigest(t, a) {
		t.Errorf("imported %s, want %s", got[0].Id, configDigest(t, a))
	}
	if diff := cmp.Diff([]string{"docker.io/library/busybox:oci", "quay.io/podium/multi:1"}, got[0].RepoTags); diff != "" {
		t.Errorf("RepoTags (-want +got):\n%s", diff)
	}
	wantDigests := []string{"docker.io/library/busybox@" + manifestDigest(t, a), "quay.io/podium/multi@" + manifestDigest(t, multi)}
	if diff := cmp.Diff(wantDigests, got[0].RepoDigests); diff != "" {
		t.Errorf("RepoDigests (-want +got):\n%s", diff)
	}
}

func TestImportRejects(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		archive []byte
	}{
		{"not an image archive", tarBytes(t, file("hello.txt", 0o644, "hi"))},
		{"escaping path", tarBytes(t, file("../evil", 0o644, "x"), file("manifest.json", 0o644, "[]"))},
		{"not a tar", []byte("hello")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, root := newStore(t, "")
			if imgs, err := s.Import(context.Background(), bytes.NewReader(tt.archive)); err == nil {
				t.Errorf("import = %v, want an error", imgs)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(root), "evil")); err == nil {
				t.Error("the archive wrote outside its directory")
			}
			if n := dirNames(t, filepath.Join(root, "tmp")); len(n) != 0 {
				t.Errorf("tmp/ left with %v", n)
			}
		})
	}
}

// tarDir archives a directory tree (an OCI layout) as `tar -C dir .` would.
func tarDir(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = rel
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
