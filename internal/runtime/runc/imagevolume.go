package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
)

// Image volumes (CRI's Mount.image): each is a snapshot of the image, keyed after the
// container (ID-img0, ID-img1...), mounted read-only below the container's bundle and
// bound into the container like any other mount; they go with the container.

func countImageMounts(mounts []*runtimeapi.Mount) int {
	n := 0
	for _, m := range mounts {
		if m.GetImage().GetImage() != "" {
			n++
		}
	}
	return n
}

// imageVolumeKey is the snapshot key of a container's nth image volume.
func imageVolumeKey(id string, n int) string { return fmt.Sprintf("%s-img%d", id, n) }

// removeSnapshots removes a container's rootfs snapshot and those of its image volumes.
func (r *Runtime) removeSnapshots(ctx context.Context, id string, imageVolumes int) error {
	errs := []error{r.cfg.Images.RemoveSnapshot(ctx, id)}
	for n := range imageVolumes {
		errs = append(errs, r.cfg.Images.RemoveSnapshot(ctx, imageVolumeKey(id, n)))
	}
	return errors.Join(errs...)
}

// mountImageVolumes mounts, read-only below the container's bundle, a snapshot of the
// image of each image mount (CRI's Mount.image), and returns the mounts with those
// directories as host paths.
func (r *Runtime) mountImageVolumes(ctx context.Context, id, dir string, mounts []*runtimeapi.Mount) ([]*runtimeapi.Mount, error) {
	out := make([]*runtimeapi.Mount, 0, len(mounts))
	n := 0
	for _, m := range mounts {
		if m.GetImage().GetImage() == "" {
			out = append(out, m)
			continue
		}
		if m.GetImageSubPath() != "" {
			// A sub path would have to be resolved inside the image without following
			// its symlinks out of it; the agent never asks for one.
			return nil, fmt.Errorf("image volume at %s: sub paths of image volumes are not supported", m.GetContainerPath())
		}
		img, err := r.cfg.Images.ImageStatus(ctx, m.GetImage())
		if err != nil {
			return nil, fmt.Errorf("image volume at %s: %w", m.GetContainerPath(), err)
		}
		if img == nil {
			return nil, fmt.Errorf("image volume at %s: image %s: %w", m.GetContainerPath(), m.GetImage().GetImage(), runtime.ErrNotFound)
		}
		snap, err := r.cfg.Images.Prepare(ctx, img.GetId(), imageVolumeKey(id, n))
		if err != nil {
			return nil, fmt.Errorf("image volume at %s: %w", m.GetContainerPath(), err)
		}
		target := filepath.Join(dir, "images", strconv.Itoa(n))
		n++
		if err := os.MkdirAll(target, 0o755); err != nil {
			return nil, err
		}
		if err := unix.Mount(snap.Source, target, snap.Type, unix.MS_RDONLY, strings.Join(snap.Options, ",")); err != nil {
			return nil, fmt.Errorf("image volume at %s: mounting the image: %w", m.GetContainerPath(), err)
		}
		vm := proto.Clone(m).(*runtimeapi.Mount)
		vm.HostPath, vm.Image, vm.Readonly = target, nil, true
		out = append(out, vm)
	}
	return out, nil
}
