package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tools are the built upstream binaries and where their sources are.
type tools struct {
	bin     string // holds e2e.test, ginkgo, agnhost, nnp, mkimage, sample-apiserver, etcd
	e2e     string
	ginkgo  string
	kubeMod string // the k8s.io/kubernetes module directory
}

// versionFlags are what upstream's build stamps into e2e.test (it reports the version,
// and some specs compare it with the server's).
const versionFlags = "-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"

// buildTools builds e2e.test, ginkgo, agnhost, nnp and sample-apiserver from the wrapper
// module, coredns from its own, and mkimage and etcd from podium's, unless the cache
// holds them from the same go.mod and go.sum.
func buildTools(ctx context.Context, repo, cache string) (*tools, error) {
	mod := filepath.Join(repo, "test", "conformance", "build")
	t := &tools{bin: filepath.Join(cache, "bin")}
	t.e2e, t.ginkgo = filepath.Join(t.bin, "e2e.test"), filepath.Join(t.bin, "ginkgo")
	if err := os.MkdirAll(t.bin, 0o755); err != nil {
		return nil, err
	}
	// `go list -m` names no directory for a module not yet in the module cache, as on a
	// fresh machine; `go mod download` fetches it first.
	dir, err := output(ctx, mod, "go", "mod", "download", "-json", "k8s.io/kubernetes")
	if err != nil {
		return nil, fmt.Errorf("finding the k8s.io/kubernetes module: %w", err)
	}
	var downloaded struct{ Dir string }
	if err := json.Unmarshal([]byte(dir), &downloaded); err != nil || downloaded.Dir == "" {
		return nil, fmt.Errorf("finding the k8s.io/kubernetes module: no directory in %q", dir)
	}
	t.kubeMod = downloaded.Dir

	stamp := filepath.Join(t.bin, "stamp")
	coredns := filepath.Join(repo, "test", "conformance", "coredns")
	want, err := hashFiles(filepath.Join(mod, "go.mod"), filepath.Join(mod, "go.sum"), filepath.Join(repo, "test", "conformance", "mkimage", "main.go"),
		filepath.Join(repo, "test", "conformance", "etcd", "main.go"),
		filepath.Join(coredns, "go.mod"), filepath.Join(coredns, "go.sum"), filepath.Join(coredns, "main.go"))
	if err != nil {
		return nil, err
	}
	if have, _ := os.ReadFile(stamp); string(have) == want && exists(t.e2e, t.ginkgo, filepath.Join(t.bin, "agnhost"), filepath.Join(t.bin, "nnp"), filepath.Join(t.bin, "mkimage"), filepath.Join(t.bin, "coredns"),
		filepath.Join(t.bin, "sample-apiserver"), filepath.Join(t.bin, "etcd")) {
		return t, nil
	}
	fmt.Println("building e2e.test, ginkgo and agnhost (about 10 minutes with a cold Go cache)")
	steps := []struct {
		dir  string
		args []string
	}{
		{mod, []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", t.ginkgo, "github.com/onsi/ginkgo/v2/ginkgo"}},
		{mod, []string{"build", "-trimpath", "-ldflags", "-s -w -X main.Version=2.66.1", "-o", filepath.Join(t.bin, "agnhost"), "k8s.io/kubernetes/test/images/agnhost"}},
		{mod, []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(t.bin, "nnp"), "k8s.io/kubernetes/test/images/nonewprivs"}},
		{mod, []string{"test", "-c", "-trimpath", "-ldflags", "-s -w " + versionFlags, "-o", t.e2e, "k8s.io/kubernetes/test/e2e"}},
		{mod, []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(t.bin, "sample-apiserver"), "k8s.io/sample-apiserver"}},
		{repo, []string{"build", "-trimpath", "-o", filepath.Join(t.bin, "mkimage"), "./test/conformance/mkimage"}},
		{repo, []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(t.bin, "etcd"), "./test/conformance/etcd"}},
		{coredns, []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(t.bin, "coredns"), "."}},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, "go", s.args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go %s: %w", strings.Join(s.args, " "), err)
		}
	}
	return t, os.WriteFile(stamp, []byte(want), 0o644)
}

// buildImages makes the stand-in test images (../images.sh) and returns their archives.
// They are kept in a directory named for the script's and agnhost's contents.
func buildImages(ctx context.Context, repo, cache string, t *tools) ([]string, error) {
	script := filepath.Join(repo, "test", "conformance", "images.sh")
	h, err := hashFiles(script, filepath.Join(t.bin, "agnhost"), filepath.Join(t.bin, "coredns"),
		filepath.Join(t.bin, "sample-apiserver"), filepath.Join(t.bin, "etcd"))
	if err != nil {
		return nil, err
	}
	out := filepath.Join(cache, "images-"+h[:12])
	cmd := exec.CommandContext(ctx, script, out, t.bin, t.kubeMod)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building the test images: %w", err)
	}
	return filepath.Glob(filepath.Join(out, "*.tar"))
}

func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func exists(paths ...string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stderr = dir, os.Stderr
	out, err := cmd.Output()
	return string(out), err
}
