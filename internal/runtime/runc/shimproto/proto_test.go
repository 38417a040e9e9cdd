package shimproto

import (
	"bufio"
	"bytes"
	"path/filepath"
	"testing"
)

func TestFramesAfterLine(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSONLine(&buf, &Response{Version: Version}); err != nil {
		t.Fatal(err)
	}
	WriteFrame(&buf, FrameStdout, []byte("out"))
	WriteFrame(&buf, FrameResize, ResizePayload(80, 24))
	WriteFrame(&buf, FrameStdinClose, nil)

	br := bufio.NewReader(&buf)
	var resp Response
	if err := ReadJSONLine(br, &resp); err != nil || resp.Version != Version {
		t.Fatalf("response %+v, %v", resp, err)
	}
	kind, p, err := ReadFrame(br)
	if err != nil || kind != FrameStdout || string(p) != "out" {
		t.Errorf("frame %d %q %v", kind, p, err)
	}
	kind, p, err = ReadFrame(br)
	w, h, perr := ParseResize(p)
	if err != nil || kind != FrameResize || perr != nil || w != 80 || h != 24 {
		t.Errorf("resize frame %d %dx%d %v %v", kind, w, h, err, perr)
	}
	kind, p, err = ReadFrame(br)
	if err != nil || kind != FrameStdinClose || len(p) != 0 {
		t.Errorf("close frame %d %q %v", kind, p, err)
	}
	if _, _, err := ReadFrame(br); err == nil {
		t.Errorf("read past the end succeeded")
	}
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateFile)
	want := &ContainerState{ID: "c", Status: StatusExited, Pid: 42, ExitCode: 137, Reason: ReasonOOMKilled, OOMKilled: true}
	if err := WriteState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(path)
	if err != nil || *got != *want {
		t.Errorf("read %+v, %v; want %+v", got, err, want)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}
