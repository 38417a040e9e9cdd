package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// source is an image to bring into the store: a registry's, or an archive's.
type source interface {
	RawManifest() ([]byte, error)
	RawConfigFile() ([]byte, error)
	// layer opens the blob of the layer with the given (compressed) digest.
	layer(d v1.Hash) (io.ReadCloser, error)
}

// imageSource adapts a go-containerregistry image.
type imageSource struct{ img v1.Image }

func (s imageSource) RawManifest() ([]byte, error)   { return s.img.RawManifest() }
func (s imageSource) RawConfigFile() ([]byte, error) { return s.img.RawConfigFile() }
func (s imageSource) layer(d v1.Hash) (io.ReadCloser, error) {
	l, err := s.img.LayerByDigest(d)
	if err != nil {
		return nil, err
	}
	return l.Compressed()
}

// errContentGone means another process's garbage collection removed content this one
// had written but not yet recorded; writing it again fixes it.
var errContentGone = errors.New("content removed while the image was being stored")

// layerMediaTypes are the layer blobs the store unpacks.
var layerMediaTypes = map[types.MediaType]bool{
	types.DockerLayer:             true,
	types.DockerUncompressedLayer: true,
	types.OCILayer:                true,
	types.OCILayerZStd:            true,
	types.OCIUncompressedLayer:    true,
}

// add writes src's blobs, unpacks its layers and records the image under refs, with
// target the digest the references resolve to (src's manifest, or an index holding
// it). extra are more blobs to keep with it (that index). Present content is not
// written again.
func (s *store) add(ctx context.Context, src source, target string, extra map[string][]byte, refs []string) (*imageRecord, error) {
	for attempt := 0; ; attempt++ {
		rec, release, err := s.write(ctx, src, extra)
		if err != nil {
			return nil, err
		}
		err = s.update(func(ix *index) error {
			if !s.complete(rec) || !s.blobsExist(target) {
				return errContentGone
			}
			if old := ix.Images[rec.ID]; old != nil && old.Manifest != rec.Manifest {
				// The same config under another manifest (another compression):
				// keep the first, whose blobs the existing names point at.
				rec = old
			}
			ix.Images[rec.ID] = rec
			for _, r := range refs {
				ix.Refs[r] = refRecord{Image: rec.ID, Target: target}
			}
			return nil
		})
		release()
		if errors.Is(err, errContentGone) && attempt < 2 {
			continue
		}
		return rec, err
	}
}

// write stores the blobs and unpacked layers of src, returning its record and a
// release of the leases that keep them from garbage collection until recorded.
func (s *store) write(ctx context.Context, src source, extra map[string][]byte) (*imageRecord, func(), error) {
	rawManifest, err := src.RawManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("manifest: %w", err)
	}
	md, _, err := v1.SHA256(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, nil, fmt.Errorf("manifest %s: %w", md, err)
	}
	switch m.Config.MediaType {
	case types.DockerConfigJSON, types.OCIConfigJSON, "":
	default:
		return nil, nil, fmt.Errorf("manifest %s: not a container image (config %s)", md, m.Config.MediaType)
	}
	rawConfig, err := src.RawConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if cd, _, _ := v1.SHA256(bytes.NewReader(rawConfig)); cd != m.Config.Digest {
		return nil, nil, fmt.Errorf("config %s: content has digest %s", m.Config.Digest, cd)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, nil, fmt.Errorf("image %s: %d layers but %d diffIDs", m.Config.Digest, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}

	rec := &imageRecord{ID: m.Config.Digest.String(), Manifest: md.String(), User: cfg.Config.User}
	keys := []string{rec.ID, rec.Manifest}
	for d := range extra {
		keys = append(keys, d)
	}
	for i, l := range m.Layers {
		if !layerMediaTypes[l.MediaType] {
			return nil, nil, fmt.Errorf("layer %s: unsupported media type %s", l.Digest, l.MediaType)
		}
		lr := layerRecord{Digest: l.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), Size: l.Size, MediaType: string(l.MediaType)}
		rec.Layers = append(rec.Layers, lr)
		rec.Size += l.Size
		keys = append(keys, lr.Digest, lr.DiffID)
	}
	release := s.lease(keys...)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(3)
	for i := range m.Layers {
		g.Go(func() error { return s.ensureLayer(gctx, src, m.Layers[i], rec.Layers[i]) })
	}
	err = g.Wait()
	if err == nil {
		err = s.writeBlobBytes(m.Config.Digest, rawConfig)
	}
	if err == nil {
		err = s.writeBlobBytes(md, rawManifest)
	}
	for d, b := range extra {
		if err != nil {
			break
		}
		h, herr := v1.NewHash(d)
		if herr != nil {
			err = herr
			break
		}
		err = s.writeBlobBytes(h, b)
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return rec, release, nil
}

// complete tells whether every blob and unpacked layer of img is on disk.
func (s *store) complete(img *imageRecord) bool {
	if !s.blobsExist(img.ID, img.Manifest) {
		return false
	}
	for _, l := range img.Layers {
		h, err := v1.NewHash(l.DiffID)
		if err != nil || !s.blobsExist(l.Digest) || !exists(s.layerPath(h)) {
			return false
		}
	}
	return true
}

func (s *store) blobsExist(digests ...string) bool {
	for _, d := range digests {
		h, err := v1.NewHash(d)
		if err != nil || !exists(s.blobPath(h)) {
			return false
		}
	}
	return true
}

// ensureLayer downloads a layer blob and unpacks it, unless both are present. Two
// images sharing a layer fetch it once.
func (s *store) ensureLayer(ctx context.Context, src source, desc v1.Descriptor, lr layerRecord) error {
	diffID, err := v1.NewHash(lr.DiffID)
	if err != nil {
		return err
	}
	if exists(s.blobPath(desc.Digest)) && exists(s.layerPath(diffID)) {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err = s.fetchLayer(ctx, src, desc, lr, diffID)
		// A flight started by another pull reads through that pull's source; if
		// that pull was abandoned, fetch again through ours.
		if err == nil || attempt > 0 || ctx.Err() != nil || !errors.Is(err, context.Canceled) {
			return err
		}
	}
}

func (s *store) fetchLayer(ctx context.Context, src source, desc v1.Descriptor, lr layerRecord, diffID v1.Hash) error {
	_, err := s.layers.do(ctx, lr.Digest+" "+lr.DiffID, func(ctx context.Context) (string, error) {
		if !exists(s.blobPath(desc.Digest)) {
			rc, err := src.layer(desc.Digest)
			if err != nil {
				return "", fmt.Errorf("layer %s: %w", desc.Digest, err)
			}
			err = s.writeBlob(ctx, desc.Digest, desc.Size, rc)
			rc.Close()
			if err != nil {
				return "", err
			}
		}
		if !exists(s.layerPath(diffID)) {
			if err := s.unpack(ctx, desc, diffID); err != nil {
				return "", fmt.Errorf("layer %s: %w", desc.Digest, err)
			}
		}
		return "", nil
	})
	return err
}

// writeBlob stores r's content as blob d after checking its digest (and size, when
// known).
func (s *store) writeBlob(ctx context.Context, d v1.Hash, size int64, r io.Reader) error {
	dst := s.blobPath(d)
	if exists(dst) {
		return nil
	}
	if d.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: unsupported digest algorithm", d)
	}
	f, err := os.CreateTemp(s.tmpDir(), "blob-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx: ctx, r: r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
			err = fmt.Errorf("content has digest sha256:%s", got)
		} else if size > 0 && n != size {
			err = fmt.Errorf("content has %d bytes, want %d", n, size)
		}
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("blob %s: %w", d, err)
	}
	return nil
}

func (s *store) writeBlobBytes(d v1.Hash, b []byte) error {
	return s.writeBlob(context.Background(), d, int64(len(b)), bytes.NewReader(b))
}

// blobLayer is a stored layer blob, for go-containerregistry to decompress (gzip,
// zstd or none, by its first bytes).
type blobLayer struct {
	f    *os.File
	desc v1.Descriptor
}

func (b blobLayer) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b blobLayer) Compressed() (io.ReadCloser, error)  { return b.f, nil }
func (b blobLayer) Size() (int64, error)                { return b.desc.Size, nil }
func (b blobLayer) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }

// unpack extracts the stored blob of a layer into layers/<diffID>, checking the
// diffID. The extraction happens in tmp/ and is renamed into place: a layer directory
// is complete or absent.
func (s *store) unpack(ctx context.Context, desc v1.Descriptor, diffID v1.Hash) error {
	dst := s.layerPath(diffID)
	if exists(dst) {
		return nil
	}
	f, err := os.Open(s.blobPath(desc.Digest))
	if err != nil {
		return err
	}
	defer f.Close()
	l, err := partial.CompressedToLayer(blobLayer{f: f, desc: desc})
	if err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()

	tmp, err := os.MkdirTemp(s.tmpDir(), "layer-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	if err := applyLayer(ctx, tmp, tee); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // the tar's trailing padding
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
		return fmt.Errorf("uncompressed content has digest sha256:%s, want diffID %s", got, diffID)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if exists(dst) {
			return nil // unpacked by another process meanwhile; ours goes
		}
		return err
	}
	ok = true
	return nil
}
