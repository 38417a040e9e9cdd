// Package images builds the images podium's tests and benchmarks run, from Debian's
// static busybox and the small Go programs beside this file (echo), and serves them from
// an in-process registry on loopback. Nothing is fetched from outside the machine.
package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is Debian's static busybox (package busybox-static, which `make deps`
// installs).
const BusyboxPath = "/bin/busybox"

// ErrNoBusybox means busybox-static is not installed.
var ErrNoBusybox = errors.New("busybox-static is not installed (run `make deps`)")

// applets are linked in the images' /bin.
var applets = []string{"sh", "ls", "cat", "echo", "sleep", "wget", "nc", "httpd", "tail", "pwd", "hostname", "env", "id",
	"mkdir", "touch", "date", "true", "false", "ps", "kill", "grep", "head", "rm", "dd", "seq", "nslookup"}

// File is a file to add to an image.
type File struct {
	Data []byte
	Mode int64 // 0644 when zero; a directory when Dir
	Dir  bool
}

// Layer returns a layer with busybox, its applets, /etc/passwd and group, and extra.
func Layer(extra map[string]File) (v1.Layer, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoBusybox
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(h *tar.Header, data []byte) {
		if err == nil {
			err = tw.WriteHeader(h)
		}
		if err == nil && len(data) > 0 {
			_, err = tw.Write(data)
		}
	}
	for _, d := range []string{"bin", "etc", "tmp", "var", "root", "proc", "sys", "dev"} {
		write(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	write(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, a := range applets {
		write(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
	group := []byte("root:x:0:\nnogroup:x:65534:\n")
	write(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(passwd))}, passwd)
	write(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(group))}, group)
	paths := make([]string, 0, len(extra))
	for p := range extra {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f := extra[p]
		if f.Dir {
			write(&tar.Header{Name: strings.TrimSuffix(p, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
			continue
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		write(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(f.Data))}, f.Data)
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// Image returns a busybox image with extra files, an entrypoint and a command.
func Image(entrypoint, cmd []string, extra map[string]File) (v1.Image, error) {
	layer, err := Layer(extra)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Config.Entrypoint, cf.Config.Cmd = entrypoint, cmd
	cf.Config.Env = []string{"PATH=/bin"}
	return mutate.ConfigFile(img, cf)
}

// binaries are the test programs built so far, by package.
var binaries sync.Map // string -> func() ([]byte, error)

// binary builds the program of package pkg (once per process) from the module at
// moduleRoot.
func binary(moduleRoot, pkg string) ([]byte, error) {
	f, _ := binaries.LoadOrStore(pkg, sync.OnceValues(func() ([]byte, error) {
		dir, err := os.MkdirTemp("", "podium-image-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "bin")
		cmd := exec.Command("go", "build", "-ldflags", "-s -w", "-o", out, pkg)
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, msg)
		}
		return os.ReadFile(out)
	}))
	return f.(func() ([]byte, error))()
}

// EchoBinary builds ./echo (once per process) from the module at moduleRoot.
func EchoBinary(moduleRoot string) ([]byte, error) { return binary(moduleRoot, "./test/images/echo") }

// InCluster is the image of ./incluster, a client-go program that lists its namespace's
// pods with its service account (rest.InClusterConfig), prints them and sleeps.
func InCluster(moduleRoot string) (v1.Image, error) {
	bin, err := binary(moduleRoot, "./test/images/incluster")
	if err != nil {
		return nil, err
	}
	return Image([]string{"/incluster"}, nil, map[string]File{"incluster": {Data: bin, Mode: 0o755}})
}

// Push writes img to the registry at host as ref (repository:tag).
func Push(host, ref string, img v1.Image) error {
	tag, err := name.NewTag(host+"/"+ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(tag, img)
}

// Seed returns the images the seed's examples use, built here: nginx (an HTTP server on
// port 80), busybox, and subicura/echo v1 and v2 (echo/: HTTP on port 3000, gRPC health
// on 3001; v2 has a file /version more), by repository path and tag.
func Seed(moduleRoot string) (map[string]v1.Image, error) {
	// Like nginx, it stops at once on SIGTERM (busybox httpd as PID 1 would ignore it).
	nginx, err := Image([]string{"/bin/sh", "-c", `trap "exit 0" TERM; httpd -f -v -p 80 -h /var/www & wait`}, nil, map[string]File{
		"var/www": {Dir: true}, "var/www/index.html": {Data: []byte("<h1>Welcome to nginx!</h1>\n")}})
	if err != nil {
		return nil, err
	}
	busybox, err := Image(nil, []string{"sh"}, nil)
	if err != nil {
		return nil, err
	}
	echoBin, err := EchoBinary(moduleRoot)
	if err != nil {
		return nil, err
	}
	echo, err := Image([]string{"/echo"}, nil, map[string]File{"echo": {Data: echoBin, Mode: 0o755}})
	if err != nil {
		return nil, err
	}
	// v2, for rollouts, differs by a file only.
	echo2, err := Image([]string{"/echo"}, nil, map[string]File{"echo": {Data: echoBin, Mode: 0o755}, "version": {Data: []byte("v2\n")}})
	if err != nil {
		return nil, err
	}
	return map[string]v1.Image{"library/nginx:latest": nginx, "library/busybox:latest": busybox,
		"subicura/echo:v1": echo, "subicura/echo:v2": echo2}, nil
}

// Serve pushes images into a registry served on loopback and returns its host:port and
// a function that stops it.
func Serve(imgs map[string]v1.Image) (string, func(), error) {
	return ServeOn("127.0.0.1:0", imgs)
}

// ServeOn is Serve on the given listen address.
func ServeOn(addr string, imgs map[string]v1.Image) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	host := strings.TrimPrefix(srv.URL, "http://")
	for ref, img := range imgs {
		if err := Push(host, ref, img); err != nil {
			srv.Close()
			return "", nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	return host, srv.Close, nil
}

// WriteMirror makes a data dir's registries.yaml send docker.io and ghcr.io pulls to the
// registry at host.
func WriteMirror(dataDir, host string) error {
	yaml := "mirrors:\n"
	for _, r := range []string{"docker.io", "ghcr.io"} {
		yaml += "  " + r + ":\n    endpoint:\n      - \"http://" + host + "\"\n"
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, "registries.yaml"), []byte(yaml), 0o644)
}
