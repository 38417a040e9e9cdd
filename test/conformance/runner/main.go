// Command runner runs Kubernetes' own end-to-end suite (k8s.io/kubernetes/test/e2e at the
// version in ../build/go.mod) against podium and prints what passed and failed, by area.
// `make conformance` calls it.
//
// It builds e2e.test, the ginkgo CLI and agnhost from the wrapper module in ../build, and
// stand-ins for the upstream test images (../images.sh), into a cache directory kept
// between runs. Unless it is given a kubeconfig, it starts a fresh `podium server` in a
// temporary data directory with those images imported, and removes it afterwards. The
// JUnit report, the ginkgo JSON report, the suite's output and the server's log stay in
// the report directory.
//
// Usage:
//
//	runner [-focus RE] [-skip RE] [-files RE] [-procs N] [-agents N] [-kubeconfig FILE] [-report-dir DIR]
//	runner -report DIR     (prints the table of an earlier run again)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// The selection the issue judges podium on: sig-node's pod, probe, hook, init container
// and variable expansion specs, without those upstream runs only on request.
const (
	defaultFiles = `test/e2e/common/node/(container_probe|pods|lifecycle_hook|init_container|expansion)\.go`
	defaultSkip  = `\[Feature:|\[Alpha\]|\[Beta\]|\[Serial\]|\[Disruptive\]|\[Flaky\]|\[Slow\]`
)

type options struct {
	focus, skip, files string
	procs              int
	agents             int // extra nodes
	kubeconfig         string
	reportDir          string
	cacheDir           string
	podiumBin          string
	repo               string // the podium repository's root
	keep               bool
	e2eFlags           string // more flags for e2e.test, space-separated
}

func main() {
	var o options
	var reportOnly string
	flag.StringVar(&o.focus, "focus", "", "regular expression of the specs to run (default: all of -files)")
	flag.StringVar(&o.skip, "skip", defaultSkip, "regular expression of the specs to leave out")
	flag.StringVar(&o.files, "files", "", "regular expression of the spec files to run (default: the five node files, when -focus is empty)")
	flag.IntVar(&o.procs, "procs", 1, "specs run in parallel")
	flag.IntVar(&o.agents, "agents", 0, "extra nodes: agents, each in a network namespace of its own, beside the server's node (specs that need two nodes)")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "test this cluster instead of a fresh podium server")
	flag.StringVar(&o.reportDir, "report-dir", "", "where reports go (default: a new directory under the cache)")
	flag.StringVar(&o.cacheDir, "cache", "", "where built tools and images are kept (default: REPO/.cache/conformance)")
	flag.StringVar(&o.podiumBin, "bin", "", "directory of podium's binaries (default: REPO/bin)")
	flag.BoolVar(&o.keep, "keep", false, "leave the podium server running with its data directory (and its pods); the image registry the runner serves goes with the runner")
	flag.StringVar(&o.e2eFlags, "e2e-flags", "--provider=local", "more flags for e2e.test, space-separated")
	flag.StringVar(&reportOnly, "report", "", "print the table of the report in DIR and exit")
	flag.Parse()

	if reportOnly != "" {
		s, err := loadReport(reportOnly)
		if err != nil {
			fatal(err)
		}
		s.print(os.Stdout)
		return
	}
	wd, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	if o.repo, err = repoRoot(wd); err != nil {
		fatal(err)
	}
	if o.cacheDir == "" {
		o.cacheDir = filepath.Join(o.repo, ".cache", "conformance")
	}
	if o.podiumBin == "" {
		o.podiumBin = filepath.Join(o.repo, "bin")
	}
	if o.reportDir == "" {
		o.reportDir = filepath.Join(o.cacheDir, "reports", time.Now().Format("20060102-150405"))
	}
	if o.focus == "" && o.files == "" {
		o.files = defaultFiles
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		fatal(err)
	}
	os.Exit(code)
}

// run builds what is missing, runs the suite and prints the table. Its exit code is the
// suite's: 0 when every selected spec passed.
func run(ctx context.Context, o options) (int, error) {
	if err := os.MkdirAll(o.reportDir, 0o755); err != nil {
		return 0, err
	}
	t, err := buildTools(ctx, o.repo, o.cacheDir)
	if err != nil {
		return 0, err
	}
	kubeconfig := o.kubeconfig
	if kubeconfig == "" {
		images, err := buildImages(ctx, o.repo, o.cacheDir, t)
		if err != nil {
			return 0, err
		}
		c, err := startCluster(ctx, o, images)
		if err != nil {
			return 0, err
		}
		defer c.stop()
		kubeconfig = c.kubeconfig
	} else {
		fmt.Printf("testing the cluster of %s; it must hold the test images already (podium image import %s/images/*.tar)\n", kubeconfig, o.cacheDir)
	}
	start := time.Now()
	code, err := runSuite(ctx, o, t, kubeconfig)
	if err != nil {
		return 0, err
	}
	wall := time.Since(start)
	s, err := loadReport(o.reportDir)
	if err != nil {
		return 0, err
	}
	s.Wall, s.Procs = wall, o.procs
	if err := s.save(o.reportDir); err != nil {
		return 0, err
	}
	fmt.Println()
	s.print(os.Stdout)
	fmt.Printf("\nreports: %s\n", o.reportDir)
	return code, nil
}

// repoRoot finds the podium repository that holds dir.
func repoRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "test", "conformance", "build", "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the podium repository", dir)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "conformance:", err)
	os.Exit(1)
}
