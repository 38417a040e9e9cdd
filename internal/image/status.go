package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
)

// ImageStatus returns the image a reference, an ID or a unique ID prefix names, or
// nil when there is none.
func (s *store) ImageStatus(ctx context.Context, spec *runtimeapi.ImageSpec) (*runtimeapi.Image, error) {
	if spec.GetImage() == "" {
		return nil, errors.New("image status: no image given")
	}
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	img, _ := ix.resolve(spec.GetImage())
	if img == nil {
		return nil, nil
	}
	return ix.cri(img), nil
}

// ListImages lists the images, ordered by their first tag, untagged ones last.
func (s *store) ListImages(ctx context.Context) ([]*runtimeapi.Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]*runtimeapi.Image, 0, len(ix.Images))
	for _, img := range ix.Images {
		out = append(out, ix.cri(img))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (len(a.RepoTags) == 0) != (len(b.RepoTags) == 0) {
			return len(a.RepoTags) > 0
		}
		if len(a.RepoTags) > 0 && a.RepoTags[0] != b.RepoTags[0] {
			return a.RepoTags[0] < b.RepoTags[0]
		}
		return a.Id < b.Id
	})
	return out, nil
}

// RemoveImage removes a name of an image. Naming it by a tag removes that tag while
// the image has others (and the repository's digest names once no tag of the
// repository is left); naming it by its last tag, by a digest or by its ID removes the
// image and all its names. Blobs and layers that no image or snapshot uses are then
// deleted. Removing what is absent is not an error.
func (s *store) RemoveImage(ctx context.Context, spec *runtimeapi.ImageSpec) error {
	if spec.GetImage() == "" {
		return errors.New("remove image: no image given")
	}
	return s.update(func(ix *index) error {
		if img, ref := ix.resolve(spec.GetImage()); img != nil {
			ix.removeRef(img, ref)
		}
		return nil
	})
}

// Config returns the config of a present image.
func (s *store) Config(ctx context.Context, image string) (*v1.ConfigFile, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	img, _ := ix.resolve(image)
	if img == nil {
		return nil, fmt.Errorf("image %q: %w", image, runtime.ErrNotFound)
	}
	h, err := v1.NewHash(img.ID)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("image %q: config: %w", image, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("image %q: config: %w", image, err)
	}
	return cfg, nil
}
