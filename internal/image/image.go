package image

import (
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
)

// Mount is a filesystem to mount, as mount(8) takes it:
// mount -t Type -o strings.Join(Options, ",") Source TARGET.
type Mount struct {
	Type    string // "overlay"
	Source  string // "overlay"
	Options []string
}

// Store keeps images and makes container root filesystems from them. It is safe for
// concurrent use; pulls of the same image are done once.
type Store interface {
	runtime.ImageService

	// Import loads every image of a docker-save or OCI layout archive and returns them.
	Import(ctx context.Context, r io.Reader) ([]*runtimeapi.Image, error)
	// Config returns the config (entrypoint, cmd, env, working dir, user, stop signal)
	// of a present image, named by reference or ID.
	Config(ctx context.Context, image string) (*v1.ConfigFile, error)
	// Prepare makes a writable snapshot of a present image under key (a container ID)
	// and returns how to mount it: the image's unpacked layers as read-only lower
	// directories, shared by every snapshot, and a fresh upper directory.
	Prepare(ctx context.Context, image, key string) (Mount, error)
	// RemoveSnapshot deletes a snapshot's upper and work directories; the caller has
	// unmounted it. Removing an absent snapshot is not an error.
	RemoveSnapshot(ctx context.Context, key string) error
	// SnapshotUsage returns the bytes a snapshot's upper directory (what its container
	// wrote) takes on disk; 0 for an absent snapshot.
	SnapshotUsage(ctx context.Context, key string) (int64, error)
}
