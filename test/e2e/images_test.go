package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// busyboxPath is Debian's static busybox (package busybox-static, which `make deps`
// installs); test images are built from it.
const busyboxPath = "/bin/busybox"

// busyboxApplets are linked in the test images' /bin.
var busyboxApplets = []string{"sh", "ls", "cat", "echo", "sleep", "wget", "nc", "httpd", "tail", "pwd", "hostname", "env", "id", "mkdir", "touch", "date", "true", "false", "ps", "kill", "grep", "head"}

// busyboxLayer returns a layer with busybox, its applets, and the files every image has.
func busyboxLayer(t *testing.T, extra map[string]string) v1.Layer {
	t.Helper()
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("busybox-static is missing (%v): run `make deps`", err)
		}
		t.Skipf("busybox-static is missing: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(p string) {
		_ = tw.WriteHeader(&tar.Header{Name: p + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	file := func(p string, data []byte, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"bin", "etc", "tmp", "var", "var/www", "root", "proc", "sys", "dev"} {
		dir(d)
	}
	file("bin/busybox", bin, 0o755)
	for _, a := range busyboxApplets {
		_ = tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	file("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), 0o644)
	file("etc/group", []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644)
	for p, content := range extra {
		if strings.HasSuffix(p, "/") {
			dir(strings.TrimSuffix(p, "/"))
			continue
		}
		mode := int64(0o644)
		if p == "echo" {
			mode = 0o755
		}
		file(p, []byte(content), mode)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return layer
}

// testImage builds an image from busybox with an entrypoint, a command and exposed ports.
func testImage(t *testing.T, entrypoint, cmd []string, extra map[string]string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, busyboxLayer(t, extra))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Config.Entrypoint, cf.Config.Cmd = entrypoint, cmd
	cf.Config.Env = []string{"PATH=/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// testRegistry serves images on loopback and returns its host:port. Each image is
// pushed under every name given.
func testRegistry(t *testing.T, images map[string]v1.Image) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for ref, img := range images {
		tag, err := name.NewTag(host+"/"+ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}
	return host
}

// seedImages are the images the seed's examples use, built locally: nginx (an HTTP
// server on port 80), busybox, and subicura/echo (test/images/echo: HTTP on port 3000,
// gRPC health on 3001), which the ghcr.io mirror serves.
func seedImages(t *testing.T) map[string]v1.Image {
	index := map[string]string{"var/www/": "", "var/www/index.html": "<h1>Welcome to nginx!</h1>\n"}
	return map[string]v1.Image{
		"library/nginx:latest":   testImage(t, []string{"/bin/httpd", "-f", "-v", "-p", "80", "-h", "/var/www"}, nil, index),
		"library/busybox:latest": testImage(t, nil, []string{"sh"}, nil),
		"subicura/echo:v1":       testImage(t, []string{"/echo"}, nil, map[string]string{"echo": echoBinary(t)}),
	}
}

var (
	echoOnce sync.Once
	echoData string
	echoErr  error
)

// echoBinary builds test/images/echo once per test run and returns its bytes.
func echoBinary(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "podium-echo-")
		if err != nil {
			echoErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "echo")
		cmd := exec.Command("go", "build", "-ldflags", "-s -w", "-o", out, "./test/images/echo")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			echoErr = fmt.Errorf("building the echo image: %v\n%s", err, msg)
			return
		}
		data, err := os.ReadFile(out)
		echoData, echoErr = string(data), err
	})
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	return echoData
}

// writeMirror points docker.io at the test registry in a data dir's registries.yaml.
func writeMirror(t *testing.T, dataDir, host string) {
	t.Helper()
	yaml := "mirrors:\n  docker.io:\n    endpoint:\n      - \"http://" + host + "\"\n" +
		"  ghcr.io:\n    endpoint:\n      - \"http://" + host + "\"\n"
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "registries.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}
