package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Annotations naming the images of an OCI layout.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Import loads the images of a docker-save archive (manifest.json) or of a tar of an
// OCI layout (oci-layout, index.json), either possibly gzipped. Docker-save images are
// named by their RepoTags; OCI images by the annotation io.containerd.image.name, or
// org.opencontainers.image.ref.name when it holds a full reference. From an index it
// takes this node's platform. Images without a name are stored without one.
func (s *store) Import(ctx context.Context, r io.Reader) ([]*runtimeapi.Image, error) {
	dir, err := os.MkdirTemp(s.tmpDir(), "import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	br := bufio.NewReaderSize(r, 64<<10)
	var tr io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		defer gz.Close()
		tr = gz
	}
	if err := extractArchive(ctx, dir, tar.NewReader(ctxReader{ctx: ctx, r: tr})); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}

	var ids []string
	switch {
	case exists(path.Join(dir, "oci-layout")) && exists(path.Join(dir, "index.json")):
		ids, err = s.importOCI(ctx, dir)
	case exists(path.Join(dir, "manifest.json")):
		ids, err = s.importDockerSave(ctx, dir)
	default:
		err = errors.New("neither a docker-save archive (manifest.json) nor an OCI layout (oci-layout, index.json)")
	}
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []*runtimeapi.Image
	seen := map[string]bool{}
	for _, id := range ids {
		if img := ix.Images[id]; img != nil && !seen[id] {
			seen[id] = true
			out = append(out, ix.cri(img))
		}
	}
	return out, nil
}

// extractArchive writes the directories, files and links of an image archive into
// dir, refusing anything that would land outside it.
func extractArchive(ctx context.Context, dir string, tr *tar.Reader) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%q: %w", hdr.Name, err)
		}
		if name == "" {
			continue
		}
		if d := path.Dir(name); d != "." && hdr.Typeflag != tar.TypeDir {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("%q: %w", hdr.Name, err)
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, 0o755)
		case tar.TypeReg, tar.TypeRegA:
			var f *os.File
			f, err = root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
			if err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case tar.TypeSymlink:
			err = root.Symlink(hdr.Linkname, name)
		case tar.TypeLink:
			var target string
			if target, err = cleanName(hdr.Linkname); err == nil {
				err = root.Link(target, name)
			}
		}
		if err != nil {
			return fmt.Errorf("%q: %w", hdr.Name, err)
		}
	}
}

// importDockerSave stores the images of an extracted `docker save` archive. Their
// manifests are made here (docker-save has none): layers as the archive holds them,
// compressed or not.
func (s *store) importDockerSave(ctx context.Context, dir string) ([]string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	b, err := root.ReadFile("manifest.json")
	if err != nil {
		return nil, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var ids []string
	for _, entry := range m {
		rawConfig, err := root.ReadFile(path.Clean(entry.Config))
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		cd, _, err := v1.SHA256(bytes.NewReader(rawConfig))
		if err != nil {
			return nil, err
		}
		src := &archiveSource{root: root, config: rawConfig, layers: map[v1.Hash]string{}}
		manifest := v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.DockerManifestSchema2,
			Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(rawConfig)), Digest: cd},
		}
		for _, p := range entry.Layers {
			desc, err := describeLayer(root, path.Clean(p))
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", p, err)
			}
			src.layers[desc.Digest] = path.Clean(p)
			manifest.Layers = append(manifest.Layers, desc)
		}
		if src.manifest, err = json.Marshal(manifest); err != nil {
			return nil, err
		}
		md, _, _ := v1.SHA256(bytes.NewReader(src.manifest))
		var refs []string
		for _, tag := range entry.RepoTags {
			r, err := parseRef(tag)
			if err != nil {
				s.log.Warn("import: skipping a bad RepoTag", "tag", tag, "err", err)
				continue
			}
			refs = append(refs, r.refs(md.String())...)
		}
		rec, err := s.add(ctx, src, md.String(), nil, refs)
		if err != nil {
			return nil, err
		}
		s.log.Info("imported image", "id", rec.ID, "names", entry.RepoTags)
		ids = append(ids, rec.ID)
	}
	return ids, nil
}

// describeLayer hashes a layer file of an archive and tells its compression.
func describeLayer(root *os.Root, name string) (v1.Descriptor, error) {
	f, err := root.Open(name)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	mt := types.DockerUncompressedLayer
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		mt = types.DockerLayer
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		mt = types.OCILayerZStd
	}
	d, n, err := v1.SHA256(br)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: n, Digest: d}, nil
}

// archiveSource is an image of an extracted docker-save archive.
type archiveSource struct {
	root     *os.Root
	manifest []byte
	config   []byte
	layers   map[v1.Hash]string // file of each layer blob
}

func (a *archiveSource) RawManifest() ([]byte, error)   { return a.manifest, nil }
func (a *archiveSource) RawConfigFile() ([]byte, error) { return a.config, nil }
func (a *archiveSource) layer(d v1.Hash) (io.ReadCloser, error) {
	p, ok := a.layers[d]
	if !ok {
		return nil, fmt.Errorf("layer %s not in the archive", d)
	}
	return a.root.Open(p)
}

// importOCI stores the images an extracted OCI layout's index lists.
func (s *store) importOCI(ctx context.Context, dir string) ([]string, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, d := range im.Manifests {
		var img v1.Image
		var extra map[string][]byte
		switch {
		case d.MediaType.IsImage():
			if img, err = idx.Image(d.Digest); err != nil {
				return nil, err
			}
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err = s.platformImage(child); err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			raw, err := child.RawManifest()
			if err != nil {
				return nil, err
			}
			extra = map[string][]byte{d.Digest.String(): raw}
		default:
			s.log.Warn("import: skipping an entry that is not an image", "digest", d.Digest, "mediaType", d.MediaType)
			continue
		}
		target := d.Digest.String()
		var refs []string
		for _, n := range ociNames(d.Annotations) {
			r, err := parseRef(n)
			if err != nil {
				s.log.Warn("import: skipping a bad image name", "name", n, "err", err)
				continue
			}
			refs = append(refs, r.refs(target)...)
		}
		rec, err := s.add(ctx, imageSource{img}, target, extra, refs)
		if err != nil {
			return nil, err
		}
		s.log.Info("imported image", "id", rec.ID, "names", ociNames(d.Annotations))
		ids = append(ids, rec.ID)
	}
	return ids, nil
}

// ociNames are the image names an index entry's annotations give. A bare ref.name
// ("latest") names a tag without a repository, and so no image.
func ociNames(a map[string]string) []string {
	var out []string
	if n := a[annotationContainerdName]; n != "" {
		out = append(out, n)
	}
	if n := a[annotationRefName]; strings.ContainsAny(n, "/:@") && (len(out) == 0 || out[0] != n) {
		out = append(out, n)
	}
	return out
}

// platformImage picks this node's platform from an index, looking into nested
// indexes; an index of one entry without a platform gives that entry.
func (s *store) platformImage(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform == nil || !d.Platform.Satisfies(s.platform) {
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			return s.platformImage(child)
		}
		return idx.Image(d.Digest)
	}
	if len(im.Manifests) == 1 && im.Manifests[0].Platform == nil && im.Manifests[0].MediaType.IsImage() {
		return idx.Image(im.Manifests[0].Digest)
	}
	return nil, fmt.Errorf("no image for platform %s", s.platform)
}
