package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/diskusage"
	"github.com/podium/podium/internal/image"
	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/runtime"
)

// fakeImages is an image.Store whose images are directories on disk, each a single
// read-only overlay lower layer.
type fakeImages struct {
	snapDir string

	mu        sync.Mutex // guards images and snapshots
	images    map[string]*fakeImage
	snapshots map[string]bool
}

type fakeImage struct {
	id, ref string
	root    string
	config  v1.ConfigFile
}

var _ image.Store = (*fakeImages)(nil)

func newFakeImages(snapDir string) *fakeImages {
	return &fakeImages{snapDir: snapDir, images: map[string]*fakeImage{}, snapshots: map[string]bool{}}
}

func (f *fakeImages) add(ref, root string, cfg v1.Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("sha256:%064x", len(f.images)+1)
	f.images[ref] = &fakeImage{id: id, ref: ref, root: root, config: v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: cfg}}
}

func (f *fakeImages) find(name string) *fakeImage {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, img := range f.images {
		if img.ref == name || img.id == name {
			return img
		}
	}
	return nil
}

func (f *fakeImages) PullImage(ctx context.Context, spec *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig) (string, error) {
	if img := f.find(spec.GetImage()); img != nil {
		return img.id, nil
	}
	return "", fmt.Errorf("image %s: %w", spec.GetImage(), runtime.ErrNotFound)
}

func (f *fakeImages) ImageStatus(ctx context.Context, spec *runtimeapi.ImageSpec) (*runtimeapi.Image, error) {
	img := f.find(spec.GetImage())
	if img == nil {
		return nil, nil
	}
	return &runtimeapi.Image{Id: img.id, RepoTags: []string{img.ref}}, nil
}

func (f *fakeImages) ListImages(ctx context.Context) ([]*runtimeapi.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Image
	for _, img := range f.images {
		out = append(out, &runtimeapi.Image{Id: img.id, RepoTags: []string{img.ref}})
	}
	return out, nil
}

func (f *fakeImages) RemoveImage(ctx context.Context, spec *runtimeapi.ImageSpec) error { return nil }

func (f *fakeImages) Import(ctx context.Context, r io.Reader) ([]*runtimeapi.Image, error) {
	return nil, errors.New("fakeImages: Import is not supported")
}

func (f *fakeImages) Config(ctx context.Context, name string) (*v1.ConfigFile, error) {
	img := f.find(name)
	if img == nil {
		return nil, fmt.Errorf("image %s: %w", name, runtime.ErrNotFound)
	}
	cfg := img.config
	return &cfg, nil
}

func (f *fakeImages) SnapshotUsage(ctx context.Context, key string) (int64, error) {
	return diskusage.Of(filepath.Join(f.snapDir, key, "upper"))
}

func (f *fakeImages) Prepare(ctx context.Context, name, key string) (image.Mount, error) {
	img := f.find(name)
	if img == nil {
		return image.Mount{}, fmt.Errorf("image %s: %w", name, runtime.ErrNotFound)
	}
	dir := filepath.Join(f.snapDir, key)
	for _, d := range []string{"upper", "work"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return image.Mount{}, err
		}
	}
	f.mu.Lock()
	f.snapshots[key] = true
	f.mu.Unlock()
	return image.Mount{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + img.root,
		"upperdir=" + filepath.Join(dir, "upper"),
		"workdir=" + filepath.Join(dir, "work"),
	}}, nil
}

func (f *fakeImages) RemoveSnapshot(ctx context.Context, key string) error {
	f.mu.Lock()
	delete(f.snapshots, key)
	f.mu.Unlock()
	return os.RemoveAll(filepath.Join(f.snapDir, key))
}

func (f *fakeImages) snapshotCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.snapshots)
}

// fakeNetwork brings the pod's loopback up and hands out addresses it never
// configures.
type fakeNetwork struct {
	mu        sync.Mutex // guards next and attached
	next      int
	attached  map[string]bool
	teardowns int
}

var _ network.Network = (*fakeNetwork)(nil)

func newFakeNetwork() *fakeNetwork { return &fakeNetwork{attached: map[string]bool{}} }

func (n *fakeNetwork) Setup(ctx context.Context, pod network.Pod, netnsPath string, ports []network.PortMapping) (network.Result, error) {
	if err := loopbackUp(netnsPath); err != nil {
		return network.Result{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	n.attached[pod.ID] = true
	return network.Result{IP: net.IPv4(10, 88, 0, byte(n.next+1))}, nil
}

func (n *fakeNetwork) Teardown(ctx context.Context, pod network.Pod, netnsPath string, ports []network.PortMapping) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.attached, pod.ID)
	n.teardowns++
	return nil
}

func (n *fakeNetwork) isAttached(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attached[id]
}

// loopbackUp sets IFF_UP on lo inside the namespace at nsPath.
func loopbackUp(nsPath string) error {
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			goruntime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		ns, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			goruntime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(ns)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			goruntime.UnlockOSThread()
			errc <- err
			return
		}
		err = setIfUp("lo")
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			goruntime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func setIfUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
