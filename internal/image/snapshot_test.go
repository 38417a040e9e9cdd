package image

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
)

// mountSnapshot mounts m on a new directory and unmounts it when the test ends.
func mountSnapshot(t *testing.T, m Mount) string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(m.Source, target, m.Type, 0, strings.Join(m.Options, ",")); err != nil {
		missing(t, "overlay mounts: "+err.Error())
	}
	t.Cleanup(func() {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
	return target
}

func diffIDs(t *testing.T, img v1.Image) []string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range cf.RootFS.DiffIDs {
		out = append(out, d.Hex)
	}
	return out
}

func TestPrepareAndMount(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	img := twoLayerImage(t)
	ref := reg.push(t, "test/busybox:latest", img)
	s, root := newStore(t, "")
	pull(t, s, ref, nil)

	m, err := s.Prepare(context.Background(), ref, "c1")
	if err != nil {
		t.Fatal(err)
	}
	layers := diffIDs(t, img)
	want := Mount{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + filepath.Join(root, "layers", layers[1]) + ":" + filepath.Join(root, "layers", layers[0]),
		"upperdir=" + filepath.Join(root, "snapshots", "c1", "upper"),
		"workdir=" + filepath.Join(root, "snapshots", "c1", "work"),
	}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("Prepare (-want +got):\n%s", diff)
	}

	// The unpacked top layer holds the overlayfs forms of its whiteouts.
	top := filepath.Join(root, "layers", layers[1])
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(top, "etc", "removed"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout etc/removed: %v, mode %o rdev %d; want a 0/0 character device", err, st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(top, "opq"), opaqueXattr, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opq/ %s = %q, %v; want y", opaqueXattr, buf[:n], err)
	}
	if _, err := os.Lstat(filepath.Join(top, "opq", ".wh..wh..opq")); err == nil {
		t.Error("the opaque marker file was unpacked")
	}

	rootfs := mountSnapshot(t, m)
	out, err := exec.Command(filepath.Join(rootfs, "bin", "busybox"), "echo", "hello").Output()
	if err != nil || string(out) != "hello\n" {
		t.Errorf("busybox echo = %q, %v", out, err)
	}
	if l, err := os.Readlink(filepath.Join(rootfs, "bin", "sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v; want busybox", l, err)
	}
	for _, p := range []string{"etc/removed", "bin/ls", "opq/lower-file"} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v; want it hidden by the top layer", p, err)
		}
	}
	for p, body := range map[string]string{"etc/hostname": "podium\n", "etc/layer2": "two\n", "opq/upper-file": "upper\n"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, p)); err != nil || string(b) != body {
			t.Errorf("%s = %q, %v; want %q", p, b, err, body)
		}
	}
	a, errA := os.Stat(filepath.Join(rootfs, "bin", "busybox"))
	b, errB := os.Stat(filepath.Join(rootfs, "bin", "busybox-hard"))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("bin/busybox-hard is not a hard link of bin/busybox: %v %v", errA, errB)
	}
	checkMode := func(p string, mode os.FileMode, uid, gid uint32) {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(rootfs, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		sys := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != mode || sys.Uid != uid || sys.Gid != gid {
			t.Errorf("%s: mode %v owner %d:%d; want %v %d:%d", p, fi.Mode(), sys.Uid, sys.Gid, mode, uid, gid)
		}
	}
	checkMode("home/user", os.ModeDir|0o750, 1000, 1000)
	checkMode("home/user/.profile", 0o600, 1000, 1000)
	checkMode("usr/bin/setuid", os.ModeSetuid|0o755, 0, 0)
	checkMode("tmp", os.ModeDir|os.ModeSticky|0o777, 0, 0)
	checkMode("dev/null", os.ModeDevice|os.ModeCharDevice|0o666, 0, 0)
	if n, err := unix.Lgetxattr(filepath.Join(rootfs, "etc", "xattr"), "user.podium", buf); err != nil || string(buf[:n]) != "yes" {
		t.Errorf("etc/xattr user.podium = %q, %v; want yes", buf[:n], err)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "etc", "hostname")); err != nil || !fi.ModTime().Equal(testTime) {
		t.Errorf("etc/hostname mtime = %v, %v; want %v", fi.ModTime(), err, testTime)
	}

	// Writes go to the snapshot's upper directory, never to the shared layers.
	if err := os.WriteFile(filepath.Join(rootfs, "etc", "hostname"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "snapshots", "c1", "upper", "etc", "hostname")); err != nil || string(b) != "changed\n" {
		t.Errorf("upper/etc/hostname = %q, %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "layers", layers[0], "etc", "hostname")); string(b) != "podium\n" {
		t.Errorf("the lower layer changed: %q", b)
	}

	// Preparing again for the same image gives the same mount; for another, an error.
	if again, err := s.Prepare(context.Background(), configDigest(t, img), "c1"); err != nil || !cmp.Equal(again, m) {
		t.Errorf("Prepare again = %v, %v; want %v", again, err, m)
	}
	other := testImage(t, "other", baseLayer(t))
	otherRef := reg.push(t, "test/other:1", other)
	pull(t, s, otherRef, nil)
	if _, err := s.Prepare(context.Background(), otherRef, "c1"); !errors.Is(err, ErrExists) {
		t.Errorf("Prepare c1 for another image: %v, want ErrExists", err)
	}
	if _, err := s.Prepare(context.Background(), "absent:1", "c2"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Prepare of an absent image: %v, want ErrNotFound", err)
	}
	for _, key := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := s.Prepare(context.Background(), otherRef, key); err == nil {
			t.Errorf("Prepare with key %q: no error", key)
		}
	}

	// A single-layer image still gets an overlay with an upper directory.
	m2, err := s.Prepare(context.Background(), otherRef, "c2")
	if err != nil {
		t.Fatal(err)
	}
	rootfs2 := mountSnapshot(t, m2)
	if b, err := os.ReadFile(filepath.Join(rootfs2, "etc", "removed")); err != nil || len(b) == 0 {
		t.Errorf("single layer: etc/removed = %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(rootfs2, "new"), nil, 0o644); err != nil {
		t.Errorf("single layer: write: %v", err)
	}
}

func TestRemoveImageAndGarbageCollection(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, false, nil)
	base := baseLayer(t)
	a := testImage(t, "a", base, topLayer(t))
	b := testImage(t, "b", base)
	refA := reg.push(t, "test/a:1", a)
	refB := reg.push(t, "test/b:1", b)
	s, root := newStore(t, "")
	idA := pull(t, s, refA, nil)
	idB := pull(t, s, refB, nil)
	layers := diffIDs(t, a)
	blobs := func() int { return len(dirNames(t, filepath.Join(root, "blobs", "sha256"))) }
	unpacked := func() []string { return dirNames(t, filepath.Join(root, "layers")) }
	remove := func(ref string) {
		t.Helper()
		if err := s.RemoveImage(context.Background(), &runtimeapi.ImageSpec{Image: ref}); err != nil {
			t.Fatalf("remove %s: %v", ref, err)
		}
	}
	if n := blobs(); n != 6 { // 2 manifests, 2 configs, 2 layers
		t.Fatalf("%d blobs, want 6", n)
	}

	// Content a crashed operation left behind goes at the next collection.
	stray := filepath.Join(root, "blobs", "sha256", strings.Repeat("e", 64))
	strayLayer := filepath.Join(root, "layers", strings.Repeat("f", 64))
	os.WriteFile(stray, []byte("stray"), 0o644)
	os.MkdirAll(filepath.Join(strayLayer, "bin"), 0o755)

	// A second tag: removing one tag keeps the image.
	reg.push(t, "test/a:2", a)
	pull(t, s, reg.host+"/test/a:2", nil)
	remove(refA)
	for _, p := range []string{stray, strayLayer} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived a collection", p)
		}
	}
	if img := status(t, s, reg.host+"/test/a:2"); img == nil || img.Id != idA || !slices.Equal(img.RepoTags, []string{reg.host + "/test/a:2"}) {
		t.Fatalf("after removing one of two tags: %v", img)
	}
	// Removing the last tag removes the image; what only it used goes.
	remove(reg.host + "/test/a:2")
	if img := status(t, s, idA); img != nil {
		t.Fatalf("image a still present: %v", img)
	}
	if n := blobs(); n != 3 {
		t.Errorf("%d blobs after removing a, want b's 3", n)
	}
	if diff := cmp.Diff([]string{layers[0]}, unpacked()); diff != "" {
		t.Errorf("unpacked layers after removing a (-want +got):\n%s", diff)
	}
	remove(refA) // absent: not an error

	// A live snapshot keeps its layers after its image goes, until it goes too.
	if _, err := s.Prepare(context.Background(), refB, "c1"); err != nil {
		t.Fatal(err)
	}
	remove(idB)
	if list, _ := s.ListImages(context.Background()); len(list) != 0 {
		t.Errorf("images left: %v", list)
	}
	if n := blobs(); n != 0 {
		t.Errorf("%d blobs left, want 0", n)
	}
	if diff := cmp.Diff([]string{layers[0]}, unpacked()); diff != "" {
		t.Errorf("unpacked layers while snapshot c1 lives (-want +got):\n%s", diff)
	}
	if err := s.RemoveSnapshot(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSnapshot(context.Background(), "c1"); err != nil {
		t.Errorf("removing an absent snapshot: %v", err)
	}
	if n := unpacked(); len(n) != 0 {
		t.Errorf("unpacked layers left: %v", n)
	}
	for _, d := range []string{"snapshots", "tmp"} {
		if n := dirNames(t, filepath.Join(root, d)); len(n) != 0 {
			t.Errorf("%s/ left with %v", d, n)
		}
	}
}

func TestLowerLayers(t *testing.T) {
	img := &imageRecord{Layers: []layerRecord{{DiffID: "sha256:a"}, {DiffID: "sha256:b"}, {DiffID: "sha256:a"}, {DiffID: "sha256:c"}}}
	if diff := cmp.Diff([]string{"sha256:c", "sha256:a", "sha256:b"}, lowerLayers(img)); diff != "" {
		t.Errorf("lowerLayers (-want +got):\n%s", diff)
	}
}
