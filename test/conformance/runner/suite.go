package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// e2eFlags are the suite's flags for a run against kubeconfig: extra (the Makefile's
// CONFORMANCE_E2E_FLAGS, which say why they differ from upstream's defaults), the
// complete ginkgo report the table is made from, and podium's kubectl (the release the
// suite is built from) for the specs that run kubectl.
func e2eFlags(kubeconfig, reportDir, kubectl string, extra []string) []string {
	return append([]string{"--kubeconfig=" + kubeconfig, "--report-dir=" + reportDir, "--report-complete-ginkgo",
		"--kubectl-path=" + kubectl}, extra...)
}

// runSuite runs e2e.test (through the ginkgo CLI when in parallel) and returns its exit
// code; its output goes to the terminal and to e2e.log in the report directory.
func runSuite(ctx context.Context, o options, t *tools, kubeconfig string) (int, error) {
	sel := []string{"--skip=" + o.skip}
	if o.focus != "" {
		sel = append(sel, "--focus="+o.focus)
	}
	if o.files != "" {
		sel = append(sel, "--focus-file="+o.files)
	}
	flags := e2eFlags(kubeconfig, o.reportDir, filepath.Join(o.podiumBin, "podium-kubectl"), strings.Fields(o.e2eFlags))
	var cmd *exec.Cmd
	if o.procs > 1 {
		// With its output intercepted, an e2e.test process that dies (a panic in a goroutine
		// of a spec) takes its stack trace with it and ginkgo only says "exit status 2";
		// uncaptured, the trace is printed under "Output from proc N".
		args := append([]string{fmt.Sprintf("--procs=%d", o.procs), "--timeout=6h", "--no-color",
			"--output-interceptor-mode=none"}, sel...)
		args = append(append(args, t.e2e, "--"), flags...)
		cmd = exec.CommandContext(ctx, t.ginkgo, args...)
	} else {
		args := flags
		for _, s := range sel {
			args = append(args, "--ginkgo."+s[2:])
		}
		args = append(args, "--ginkgo.timeout=6h", "--ginkgo.no-color", "--ginkgo.v")
		cmd = exec.CommandContext(ctx, t.e2e, args...)
	}
	logFile, err := os.Create(filepath.Join(o.reportDir, "e2e.log"))
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd.Stdout = io.MultiWriter(os.Stdout, logFile)
	cmd.Stderr = cmd.Stdout
	cmd.Dir = o.reportDir // the suite writes a few files of its own where it runs
	fmt.Printf("running %s\n", cmd.String())
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return exit.ExitCode(), nil
	}
	return 0, err
}
