package shimproto

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Version is the protocol version this package speaks.
const Version = 1

// Names inside a sandbox directory.
const (
	SocketName    = "shim.sock"  // the shim's unix socket
	ShimLogName   = "shim.log"   // the shim's own stdout and stderr
	ContainersDir = "containers" // one directory per container, named by its ID
	StateFile     = "state.json" // a container's state, written by the shim
	SpecFile      = "config.json"
	RootfsDir     = "rootfs"
	InitPidFile   = "init.pid"
	RuncLogFile   = "runc.log"
)

// ContainerDir is the directory of container id in sandboxDir; it is the container's
// OCI bundle.
func ContainerDir(sandboxDir, id string) string {
	return filepath.Join(sandboxDir, ContainersDir, id)
}

// Operations.
const (
	OpHello    = "hello"
	OpCreate   = "create"
	OpStart    = "start"
	OpSignal   = "signal"
	OpStop     = "stop"
	OpWait     = "wait"
	OpState    = "state"
	OpList     = "list"
	OpDelete   = "delete"
	OpKillAll  = "killall"
	OpShutdown = "shutdown"
	OpAttach   = "attach"
)

// Request is one call to the shim.
type Request struct {
	Version       int            `json:"v"`
	Op            string         `json:"op"`
	ID            string         `json:"id,omitempty"`
	Signal        int            `json:"signal,omitempty"`
	TimeoutMillis int64          `json:"timeoutMillis,omitempty"`
	Create        *CreateRequest `json:"create,omitempty"`
	Attach        *AttachRequest `json:"attach,omitempty"`
}

// CreateRequest describes a container whose bundle (config.json and a mounted rootfs)
// is ready in ContainerDir.
type CreateRequest struct {
	// LogPath is the CRI log file; "" discards the output.
	LogPath string `json:"logPath,omitempty"`
	// CgroupsPath is the container's cgroupsPath, to read OOM kills from.
	CgroupsPath string `json:"cgroupsPath,omitempty"`
	Stdin       bool   `json:"stdin,omitempty"`
	StdinOnce   bool   `json:"stdinOnce,omitempty"`
	Tty         bool   `json:"tty,omitempty"`
}

// AttachRequest says which streams an attach wants.
type AttachRequest struct {
	Stdin  bool `json:"stdin,omitempty"`
	Stdout bool `json:"stdout,omitempty"`
	Stderr bool `json:"stderr,omitempty"`
}

// Response answers a Request.
type Response struct {
	Version  int    `json:"v"`
	Error    string `json:"error,omitempty"`
	NotFound bool   `json:"notFound,omitempty"`
	// StartFailed marks a start that failed because the container's process
	// could not start (a missing or non-executable command, ...).
	StartFailed bool             `json:"startFailed,omitempty"`
	Hello       *Hello           `json:"hello,omitempty"`
	State       *ContainerState  `json:"state,omitempty"`
	States      []ContainerState `json:"states,omitempty"`
}

// Hello identifies a shim.
type Hello struct {
	Version int `json:"version"`
	Pid     int `json:"pid"`
}

// Container statuses.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusExited  = "exited"
)

// Exit reasons, as the CRI reports them.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
)

// ContainerState is what the shim knows of a container. Times are Unix nanoseconds,
// 0 when the event has not happened.
type ContainerState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// Pid is the container's init in the host's PID namespace; PidStart is its start
	// time (field 22 of /proc/PID/stat), which tells it from a later process with the
	// same pid.
	Pid        int    `json:"pid,omitempty"`
	PidStart   uint64 `json:"pidStart,omitempty"`
	ExitCode   int32  `json:"exitCode"`
	CreatedAt  int64  `json:"createdAt,omitempty"`
	StartedAt  int64  `json:"startedAt,omitempty"`
	FinishedAt int64  `json:"finishedAt,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Message    string `json:"message,omitempty"`
	OOMKilled  bool   `json:"oomKilled,omitempty"`
}

// WriteJSONLine writes v as one line of JSON.
func WriteJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadJSONLine reads one line of JSON into v. Bytes after the line (the frames of an
// attach) stay buffered in br, so keep reading from br.
func ReadJSONLine(br *bufio.Reader, v any) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("shimproto: line longer than %d bytes", br.Size())
		}
		return err
	}
	return json.Unmarshal(line, v)
}

// Frame kinds on an attach connection.
const (
	FrameStdin      byte = 0 // client to shim: bytes for the container's stdin
	FrameStdout     byte = 1 // shim to client
	FrameStderr     byte = 2 // shim to client
	FrameExit       byte = 3 // shim to client: the container exited; payload is its ContainerState as JSON
	FrameResize     byte = 4 // client to shim: width and height, two big-endian uint16
	FrameStdinClose byte = 5 // client to shim: the client's stdin ended; a StdinOnce container's stdin closes
)

// MaxFrame is the largest frame payload.
const MaxFrame = 1 << 20

// WriteFrame writes one frame: its kind, the payload's length as a big-endian uint32,
// the payload.
func WriteFrame(w io.Writer, kind byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("shimproto: frame of %d bytes is over %d", len(payload), MaxFrame)
	}
	buf := make([]byte, 5+len(payload))
	buf[0] = kind
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (kind byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:5])
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("shimproto: frame of %d bytes is over %d", n, MaxFrame)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// ResizePayload encodes a terminal size for FrameResize.
func ResizePayload(width, height uint16) []byte {
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:2], width)
	binary.BigEndian.PutUint16(b[2:4], height)
	return b[:]
}

// ParseResize decodes a FrameResize payload.
func ParseResize(p []byte) (width, height uint16, err error) {
	if len(p) != 4 {
		return 0, 0, fmt.Errorf("shimproto: resize payload of %d bytes", len(p))
	}
	return binary.BigEndian.Uint16(p[0:2]), binary.BigEndian.Uint16(p[2:4]), nil
}

// WriteState writes st to path atomically (a temporary file renamed over it).
func WriteState(path string, st *ContainerState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b, 0o600)
}

// ReadState reads a state file written by WriteState.
func ReadState(path string) (*ContainerState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st ContainerState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it and renames it
// over path, so that readers see the old or the new content, never a mix.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
