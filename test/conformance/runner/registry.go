package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// localRegistry serves the stand-in images on loopback as registry.k8s.io's mirror, so
// that a spec whose image (or image volume) has pull policy Always pulls it from a
// registry, as upstream's kubelet does, without leaving the machine. Its blobs live in
// a directory of the cluster's, not in memory.
type localRegistry struct {
	srv  *http.Server
	host string // ADDR:PORT
}

// startRegistry starts the registry on a port of addr with its blobs in dir and pushes
// every image of the archives to it under its upstream repository and tags, the
// registry host left out.
func startRegistry(ctx context.Context, dir, addr string, archives []string) (*localRegistry, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ln.Close()
		return nil, err
	}
	handler := registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)), registry.Logger(log.New(io.Discard, "", 0)))
	r := &localRegistry{srv: &http.Server{Handler: handler}, host: ln.Addr().String()}
	go r.srv.Serve(ln)
	for _, a := range archives {
		if err := r.push(ctx, a); err != nil {
			r.stop()
			return nil, err
		}
	}
	return r, nil
}

// push writes the images of a `docker save` archive under each of their tags.
func (r *localRegistry) push(ctx context.Context, archive string) error {
	tags, err := archiveTags(archive)
	if err != nil {
		return err
	}
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		img, err := tarball.ImageFromPath(archive, &tag)
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		local, err := name.NewTag(r.host+"/"+tag.RepositoryStr()+":"+tag.TagStr(), name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(local, img, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing %s: %w", t, err)
		}
	}
	return nil
}

// archiveTags reads the RepoTags of a `docker save` archive's manifest.json.
func archiveTags(archive string) ([]string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no manifest.json", archive)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		if filepath.Clean(h.Name) != "manifest.json" {
			continue
		}
		var manifest []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
			return nil, fmt.Errorf("%s: manifest.json: %w", archive, err)
		}
		var tags []string
		for _, m := range manifest {
			tags = append(tags, m.RepoTags...)
		}
		return tags, nil
	}
}

// writeMirrors writes the registries.yaml that makes the registry registry.k8s.io's
// mirror.
func (r *localRegistry) writeMirrors(path string) error {
	conf := fmt.Sprintf("mirrors:\n  registry.k8s.io:\n    endpoint: [%q]\n", "http://"+r.host)
	return os.WriteFile(path, []byte(conf), 0o644)
}

func (r *localRegistry) stop() {
	if r != nil {
		_ = r.srv.Close()
	}
}
