// Command mkimage writes a container image archive (the `docker save` format, which
// `podium image import` reads) from a root filesystem tarball, optionally on top of the
// layers of another such archive, and the image settings given as flags (they replace
// the base's). The conformance runner uses it for its stand-ins of the upstream test
// images.
//
// Usage:
//
//	mkimage -rootfs ROOTFS.tar -o IMAGE.tar -ref NAME:TAG [-ref ...] [-base IMAGE.tar]
//	        [-entrypoint PATH] [-cmd ARG ...] [-user UID:GID] [-workdir DIR] [-port N/tcp ...] [-env K=V ...]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// defaultPath is the PATH the upstream test images declare.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func main() {
	var refs, entrypoint, cmd, ports, env list
	rootfs := flag.String("rootfs", "", "root filesystem as an uncompressed tar")
	out := flag.String("o", "", "archive to write")
	base := flag.String("base", "", "image archive whose layers go below rootfs")
	user := flag.String("user", "", "user the image runs as (UID[:GID])")
	workdir := flag.String("workdir", "/", "working directory")
	flag.Var(&refs, "ref", "name the image carries (repeatable)")
	flag.Var(&entrypoint, "entrypoint", "entrypoint argument (repeatable)")
	flag.Var(&cmd, "cmd", "command argument (repeatable)")
	flag.Var(&ports, "port", "exposed port, as 80/tcp (repeatable)")
	flag.Var(&env, "env", "environment variable K=V besides PATH (repeatable)")
	flag.Parse()
	if *rootfs == "" || *out == "" || len(refs) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := write(*base, *rootfs, *out, refs, v1.Config{
		Entrypoint: entrypoint, Cmd: cmd, User: *user, WorkingDir: *workdir,
		Env: append([]string{defaultPath}, env...), ExposedPorts: exposed(ports),
	}); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func exposed(ports []string) map[string]struct{} {
	if len(ports) == 0 {
		return nil
	}
	m := map[string]struct{}{}
	for _, p := range ports {
		m[p] = struct{}{}
	}
	return m
}

// write makes an image of base's layers (none without a base) and rootfs, with config,
// and saves it under every ref.
func write(base, rootfs, out string, refs []string, config v1.Config) error {
	layer, err := tarball.LayerFromFile(rootfs)
	if err != nil {
		return fmt.Errorf("layer from %s: %w", rootfs, err)
	}
	below := empty.Image
	if base != "" {
		if below, err = tarball.ImageFromPath(base, nil); err != nil {
			return fmt.Errorf("base image %s: %w", base, err)
		}
	}
	img, err := mutate.AppendLayers(below, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", runtime.GOARCH, config
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tagged := map[name.Reference]v1.Image{}
	for _, r := range refs {
		tag, err := name.NewTag(r)
		if err != nil {
			return fmt.Errorf("image name %q: %w", r, err)
		}
		tagged[tag] = img
	}
	tmp := out + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, tagged); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}
