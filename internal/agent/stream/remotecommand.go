package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/podium/podium/internal/runtime"
)

// The remotecommand protocols, newest first. v2 fixes v1's stream handling, v3 adds
// terminal resizing, v4 a JSON Status (with the exit code) on the error stream, v5 the
// closing of stdin.
const (
	protocolV1 = "channel.k8s.io"
	protocolV2 = "v2.channel.k8s.io"
	protocolV3 = "v3.channel.k8s.io"
	protocolV4 = "v4.channel.k8s.io"
	protocolV5 = "v5.channel.k8s.io"
)

var spdyRemoteCommandProtocols = []string{protocolV5, protocolV4, protocolV3, protocolV2, protocolV1}

// The WebSocket channels of a remotecommand session: a byte in front of each message.
const (
	channelStdin = iota
	channelStdout
	channelStderr
	channelError
	channelResize
)

// streamOptions are the standard streams an exec or attach asks for.
type streamOptions struct {
	stdin, stdout, stderr, tty bool
}

// parseStreamOptions reads them from the query: "1" (what the API server sends) or
// "true". With a terminal there is no separate stderr, as with the kubelet.
func parseStreamOptions(q url.Values) (streamOptions, error) {
	on := func(name string) bool {
		v, _ := strconv.ParseBool(q.Get(name))
		return v
	}
	o := streamOptions{stdin: on("stdin"), stdout: on("stdout"), stderr: on("stderr"), tty: on("tty")}
	if o.tty {
		o.stderr = false
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return o, errors.New("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// session is an upgraded exec or attach connection and its streams.
type session struct {
	stdin          io.Reader // nil without stdin
	stdout, stderr io.Writer // nil when not asked for
	resize         chan runtime.TerminalSize
	// writeStatus reports how the command ended on the error stream.
	writeStatus func(*metav1.Status) error
	// gone is closed once the client has gone away.
	gone <-chan struct{}
	// close ends the session; it is called once.
	close func()
}

func (s *session) streams(tty bool) runtime.Streams {
	st := runtime.Streams{Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr, TTY: tty}
	if tty {
		st.Resize = s.resize
	}
	return st
}

// runningContainer finds the running container a request names, or answers it.
func (h *handler) runningContainer(w http.ResponseWriter, r *http.Request) (Container, bool) {
	name := r.PathValue("container")
	c, err := h.pods.Container(r.PathValue("namespace"), r.PathValue("pod"), name, false)
	if err != nil {
		lookupFailed(w, err)
		return c, false
	}
	if !c.Running {
		// The kubelet's words, for a container it has no running process of.
		http.Error(w, fmt.Sprintf("container not found (%q)", name), http.StatusInternalServerError)
		return c, false
	}
	return c, true
}

// serveExec serves /exec/NS/POD/CONTAINER?command=...: a command in a running container,
// its streams over WebSocket or SPDY, and how it ended as a Status on the error stream.
func (h *handler) serveExec(w http.ResponseWriter, r *http.Request) {
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "you must specify at least one command for the container", http.StatusBadRequest)
		return
	}
	c, s, opts, ctx, done, ok := h.openSession(w, r)
	if !ok {
		return
	}
	defer done()
	code, err := h.rt.Exec(ctx, c.ID, cmd, s.streams(opts.tty))
	if err := s.writeStatus(execStatus(cmd, code, err)); err != nil {
		h.log.Debug("writing an exec status", "container", c.ID, "err", err)
	}
}

// openSession does what exec and attach share: it reads the stream options, finds the
// running container, upgrades the connection and returns the session's context. done
// closes the session; with ok false an error was already answered.
func (h *handler) openSession(w http.ResponseWriter, r *http.Request) (c Container, s *session, opts streamOptions, ctx context.Context, done func(), ok bool) {
	opts, err := parseStreamOptions(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return c, nil, opts, nil, nil, false
	}
	if c, ok = h.runningContainer(w, r); !ok {
		return c, nil, opts, nil, nil, false
	}
	if s, ok = h.upgrade(w, r, opts); !ok {
		return c, nil, opts, nil, nil, false
	}
	ctx, cancel := h.sessionContext(r, s)
	return c, s, opts, ctx, func() { cancel(); s.close() }, true
}

// execStatus is the Status that ends an exec, as the kubelet and containerd word it.
func execStatus(cmd []string, code int32, err error) *metav1.Status {
	switch {
	case err != nil:
		st := apierrors.NewInternalError(fmt.Errorf("error executing command in container: %v", err)).ErrStatus
		return &st
	case code != 0:
		return &metav1.Status{
			Status: metav1.StatusFailure,
			Reason: "NonZeroExitCode",
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
				{Type: "ExitCode", Message: strconv.Itoa(int(code))},
			}},
			Message: fmt.Sprintf("command terminated with non-zero exit code: error executing command %v, exit code %d", cmd, code),
		}
	}
	return &metav1.Status{Status: metav1.StatusSuccess}
}

// serveAttach serves /attach/NS/POD/CONTAINER: the streams of a running container's
// main process.
func (h *handler) serveAttach(w http.ResponseWriter, r *http.Request) {
	c, s, opts, ctx, done, ok := h.openSession(w, r)
	if !ok {
		return
	}
	defer done()
	st := &metav1.Status{Status: metav1.StatusSuccess}
	if err := h.rt.Attach(ctx, c.ID, s.streams(opts.tty)); err != nil {
		ie := apierrors.NewInternalError(fmt.Errorf("error attaching to container: %v", err)).ErrStatus
		st = &ie
	}
	if err := s.writeStatus(st); err != nil {
		h.log.Debug("writing an attach status", "container", c.ID, "err", err)
	}
}

// sessionContext is the context a session's command runs with: it ends when the client
// goes away (a hijacked request's own context does not).
func (h *handler) sessionContext(r *http.Request, s *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-s.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// upgrade turns the request into a session over WebSocket or SPDY. When it fails, the
// client has its answer.
func (h *handler) upgrade(w http.ResponseWriter, r *http.Request, opts streamOptions) (*session, bool) {
	if wsstream.IsWebSocketRequest(r) {
		return h.webSocketSession(w, r, opts)
	}
	return h.spdySession(w, r, opts)
}

// webSocketSession opens a session on the channel protocols: channel.k8s.io and
// base64.channel.k8s.io (v1 status), their v4 forms (JSON status), and
// v5.channel.k8s.io (v4 with the close signal, which closes stdin).
func (h *handler) webSocketSession(w http.ResponseWriter, r *http.Request, opts streamOptions) (*session, bool) {
	read := func(on bool) wsstream.ChannelType {
		if on {
			return wsstream.ReadChannel
		}
		return wsstream.IgnoreChannel
	}
	write := func(on bool) wsstream.ChannelType {
		if on {
			return wsstream.WriteChannel
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{read(opts.stdin), write(opts.stdout), write(opts.stderr), wsstream.WriteChannel, wsstream.ReadChannel}
	binary := wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
	base64 := wsstream.ChannelProtocolConfig{Binary: false, Channels: channels}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                                      binary,
		wsstream.ChannelWebSocketProtocol:       binary,
		wsstream.Base64ChannelWebSocketProtocol: base64,
		"v4." + wsstream.ChannelWebSocketProtocol:       binary,
		"v4." + wsstream.Base64ChannelWebSocketProtocol: base64,
		protocolV5: binary,
	})
	conn.SetIdleTimeout(idleTimeout)
	nw := newCloseNotifier(w)
	protocol, chans, err := conn.Open(nw, r)
	if err != nil {
		h.log.Debug("upgrading to a websocket", "path", r.URL.Path, "err", err)
		return nil, false
	}
	// An empty message on the first channel the client reads tells it the session is up.
	switch {
	case opts.stdout:
		_, _ = chans[channelStdout].Write(nil)
	case opts.stderr:
		_, _ = chans[channelStderr].Write(nil)
	default:
		_, _ = chans[channelError].Write(nil)
	}
	s := &session{gone: nw.closed, close: func() { _ = conn.Close() }}
	if opts.stdin {
		s.stdin = chans[channelStdin]
	}
	if opts.stdout {
		s.stdout = chans[channelStdout]
	}
	if opts.stderr {
		s.stderr = chans[channelStderr]
	}
	// The resize channel is always read, so that a client's resize never blocks the
	// connection's other channels.
	if opts.tty {
		s.resize = make(chan runtime.TerminalSize)
		go readResizes(chans[channelResize], s.resize, nw.closed)
	} else {
		go func() { _, _ = io.Copy(io.Discard, chans[channelResize]) }()
	}
	switch protocol {
	case "", wsstream.ChannelWebSocketProtocol, wsstream.Base64ChannelWebSocketProtocol:
		s.writeStatus = v1Status(chans[channelError])
	default:
		s.writeStatus = v4Status(chans[channelError])
	}
	return s, true
}

// streamAndReply is a stream a client opened and a channel closed once its reply is
// sent.
type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

// spdySession opens a session on SPDY/3.1 with one stream a standard stream, named by
// its streamType header, after the client has opened all it asked for.
func (h *handler) spdySession(w http.ResponseWriter, r *http.Request, opts streamOptions) (*session, bool) {
	protocol, err := httpstream.Handshake(r, w, spdyRemoteCommandProtocols)
	if err != nil {
		return nil, false // Handshake has answered
	}
	if protocol == "" {
		protocol = protocolV1 // a client that does not negotiate speaks v1
	}
	incoming := make(chan streamAndReply)
	stopped := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopped) }) }
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		select {
		case incoming <- streamAndReply{st, replySent}:
			return nil
		case <-stopped:
			return errors.New("the session has all its streams")
		}
	})
	if conn == nil {
		return nil, false // the upgrader has answered
	}
	defer stop()
	conn.SetIdleTimeout(idleTimeout)
	resizing := protocol != protocolV1 && protocol != protocolV2
	expected := 1
	for _, on := range []bool{opts.stdin, opts.stdout, opts.stderr, opts.tty && resizing} {
		if on {
			expected++
		}
	}
	var errStream, stdin, stdout, stderr, resize httpstream.Stream
	replied := make(chan struct{}, expected+4)
	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	for received := 0; received < expected; {
		select {
		case st := <-incoming:
			switch t := st.Headers().Get(corev1.StreamType); t {
			case corev1.StreamTypeError:
				errStream = st
			case corev1.StreamTypeStdin:
				stdin = st
			case corev1.StreamTypeStdout:
				stdout = st
			case corev1.StreamTypeStderr:
				stderr = st
			case corev1.StreamTypeResize:
				resize = st
			default:
				h.log.Debug("unexpected stream type", "type", t)
				continue
			}
			go func(sent <-chan struct{}) {
				select {
				case <-sent:
					replied <- struct{}{}
				case <-stopped:
				}
			}(st.replySent)
		case <-replied:
			received++
		case <-timeout.C:
			h.log.Debug("timed out waiting for client to create streams", "path", r.URL.Path)
			_ = conn.Close()
			return nil, false
		}
	}
	gone := make(chan struct{})
	go func() {
		<-conn.CloseChan()
		close(gone)
	}()
	s := &session{gone: gone}
	s.close = func() {
		// Half-close what the client reads, so it sees the end of each, then tear
		// the connection down.
		for _, st := range []httpstream.Stream{stdout, stderr, errStream} {
			if st != nil {
				_ = st.Close()
			}
		}
		_ = conn.Close()
	}
	if stdin != nil {
		s.stdin = stdin
	}
	if stdout != nil {
		s.stdout = stdout
	}
	if stderr != nil {
		s.stderr = stderr
	}
	if resize != nil {
		s.resize = make(chan runtime.TerminalSize)
		go readResizes(resize, s.resize, gone)
	}
	var errW io.Writer = io.Discard
	if errStream != nil {
		errW = errStream
	}
	if protocol == protocolV4 || protocol == protocolV5 {
		s.writeStatus = v4Status(errW)
	} else {
		s.writeStatus = v1Status(errW)
	}
	return s, true
}

// readResizes decodes terminal sizes, JSON {"Width":W,"Height":H} one after another,
// and hands them on until the stream ends or done is closed; then it closes out.
func readResizes(r io.Reader, out chan<- runtime.TerminalSize, done <-chan struct{}) {
	defer close(out)
	dec := json.NewDecoder(r)
	for {
		var size runtime.TerminalSize
		if err := dec.Decode(&size); err != nil {
			return
		}
		select {
		case out <- size:
		case <-done:
			return
		}
	}
}

// v1Status writes how a command ended as the first protocols did: nothing for success,
// the message for a failure.
func v1Status(w io.Writer) func(*metav1.Status) error {
	return func(st *metav1.Status) error {
		if st.Status == metav1.StatusSuccess {
			return nil
		}
		_, err := w.Write([]byte(st.Message))
		return err
	}
}

// v4Status writes how a command ended as a JSON Status.
func v4Status(w io.Writer) func(*metav1.Status) error {
	return func(st *metav1.Status) error {
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
}
