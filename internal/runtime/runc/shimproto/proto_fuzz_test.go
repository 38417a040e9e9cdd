package shimproto

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"testing"
)

// FuzzReadJSONLine feeds what a connection may carry to ReadJSONLine, as the shim reads
// a Request (buffer of 64 KiB) and the agent a Response (4 KiB). A line longer than the
// buffer is an error, not a panic or an unbounded read. A line it decodes leaves the
// bytes after it in the reader (an attach's frames), and the value decoded writes with
// WriteJSONLine to a line that reads back and writes the same.
func FuzzReadJSONLine(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"op":"hello"}` + "\n",
		`{"v":1,"op":"create","id":"c","create":{"logPath":"/var/log/pods/c.log","cgroupsPath":"/kubepods/c","stdin":true,"stdinOnce":true,"tty":true}}` + "\n",
		`{"v":1,"op":"stop","id":"c","signal":15,"timeoutMillis":30000}` + "\n",
		`{"v":1,"op":"attach","id":"c","attach":{"stdin":true,"stdout":true}}` + "\n\x04\x00\x00\x00\x04\x00\x50\x00\x18",
		`{"v":1,"hello":{"version":1,"pid":42}}` + "\n",
		`{"v":1,"state":{"id":"c","status":"exited","pid":7,"pidStart":99,"exitCode":137,"reason":"OOMKilled","oomKilled":true}}` + "\n",
		`{"v":1,"states":[{"id":"a","status":"running"},{"id":"b","status":"created"}]}` + "\n",
		`{"v":1,"error":"container \"c\": container not found","notFound":true}` + "\n",
		`{"v":1,"signal":1e100,"id":"\ud800"}` + "\n",
		`{"v":2}`,
		"\n",
		`null` + "\n",
		`[1,2]` + "\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, response bool) {
		var v any = &Request{}
		size := 64 << 10
		if response {
			v, size = &Response{}, 4096
		}
		br := bufio.NewReaderSize(bytes.NewReader(data), size)
		err := ReadJSONLine(br, v)
		i := bytes.IndexByte(data, '\n')
		if i < 0 || i >= size {
			if err == nil {
				t.Fatalf("read a line from %d bytes with no newline in the first %d", len(data), size)
			}
			return
		}
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, data[i+1:]) {
			t.Fatalf("after the line, %q is left; want %q", rest, data[i+1:])
		}
		if err != nil {
			return
		}
		var line, again bytes.Buffer
		if err := WriteJSONLine(&line, v); err != nil {
			t.Fatalf("writing %+v: %v", v, err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := ReadJSONLine(bufio.NewReader(bytes.NewReader(line.Bytes())), back); err != nil {
			t.Fatalf("reading back %q: %v", line.Bytes(), err)
		}
		// Compared as written: an empty list and none are the same on the wire.
		if err := WriteJSONLine(&again, back); err != nil || !bytes.Equal(again.Bytes(), line.Bytes()) {
			t.Fatalf("%q reads back as %+v, which writes %q, %v", line.Bytes(), back, again.Bytes(), err)
		}
	})
}

// FuzzReadFrame feeds an attach connection's bytes to ReadFrame, frame after frame, as
// both ends read them. No frame is over MaxFrame; each writes back with WriteFrame to
// exactly the bytes it was read from. A resize payload that parses encodes back to
// itself.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	WriteFrame(&seed, FrameStdin, []byte("ls\n"))
	WriteFrame(&seed, FrameResize, ResizePayload(80, 24))
	WriteFrame(&seed, FrameStdinClose, nil)
	WriteFrame(&seed, FrameExit, []byte(`{"id":"c","status":"exited","exitCode":0}`))
	f.Add(seed.Bytes())
	f.Add([]byte{FrameResize, 0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{FrameStdout, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{FrameStdout, 0, 0x10, 0, 1})
	f.Add([]byte{9, 0, 0, 0, 2, 'h'})
	f.Add([]byte{FrameStdin, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		var back bytes.Buffer
		for {
			kind, payload, err := ReadFrame(r)
			if err != nil {
				break
			}
			if len(payload) > MaxFrame {
				t.Fatalf("frame of %d bytes", len(payload))
			}
			if err := WriteFrame(&back, kind, payload); err != nil {
				t.Fatalf("writing a frame read: %v", err)
			}
			if kind == FrameResize {
				if w, h, err := ParseResize(payload); err == nil && !bytes.Equal(ResizePayload(w, h), payload) {
					t.Fatalf("resize %q parses as %dx%d", payload, w, h)
				}
			}
		}
		if !bytes.HasPrefix(data, back.Bytes()) {
			t.Fatalf("frames read write back as %q, not a prefix of %q", back.Bytes(), data)
		}
	})
}
