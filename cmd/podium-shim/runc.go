package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// runcCLI runs runc commands as children of the shim, reaped by the reaper.
type runcCLI struct {
	binary string
	root   string
	reaper *reaper
}

// command runs `runc --root ROOT args...` with stdin and stdout from /dev/null and
// returns an error carrying runc's stderr when it fails.
func (rc *runcCLI) command(args ...string) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	cmd := exec.Command(rc.binary, append([]string{"--root", rc.root}, args...)...)
	cmd.Stderr = pw
	done := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(pr, 64<<10))
		io.Copy(io.Discard, pr)
		done <- strings.TrimSpace(string(b))
	}()
	ws, err := rc.reaper.run(cmd)
	pw.Close()
	msg := <-done
	if err != nil {
		return fmt.Errorf("runc %s: %w", args[0], err)
	}
	if ws.ExitStatus() != 0 || ws.Signaled() {
		if msg == "" {
			msg = fmt.Sprintf("exit code %d", exitCode(ws))
		}
		return &runcExit{op: args[0], msg: msg}
	}
	return nil
}

// runcExit is runc exiting with a failure, its message from its stderr or log.
type runcExit struct{ op, msg string }

func (e *runcExit) Error() string { return "runc " + e.op + ": " + e.msg }

// errProcessStart marks a create or start that runc refused: the container's process
// could not be set up or started (its command, its mounts, its user), which upstream
// runtimes report as the container's StartError. Failures to run runc at all are not.
var errProcessStart = errors.New("process start failed")

// lastError returns the last message of level error in a runc JSON log file.
func lastError(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &entry) == nil && (entry.Level == "error" || entry.Level == "fatal") {
			last = entry.Msg
		}
	}
	return last
}
