package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// portForwardProtocol is the SPDY port-forward protocol; tunnelled in a WebSocket it is
// offered as "SPDY/3.1+portforward.k8s.io".
const portForwardProtocol = "portforward.k8s.io"

// servePortForward serves /portForward/NS/POD: connections to ports in the pod's
// network. Over SPDY (and SPDY tunnelled in a WebSocket, what kubectl 1.31+ asks for
// first) each connection is a pair of streams, data and error, with the port in their
// headers; over WebSocket channels the ports come from the query, one data and one
// error channel each.
func (h *handler) servePortForward(w http.ResponseWriter, r *http.Request) {
	pod := r.PathValue("pod")
	sandbox, err := h.pods.Sandbox(r.PathValue("namespace"), pod)
	if err != nil {
		lookupFailed(w, err)
		return
	}
	switch {
	case wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
		h.portForwardTunnel(w, r, pod, sandbox)
	case wsstream.IsWebSocketRequest(r):
		h.portForwardChannels(w, r, pod, sandbox)
	default:
		h.portForwardSPDY(w, r, pod, sandbox)
	}
}

func (h *handler) portForwardSPDY(w http.ResponseWriter, r *http.Request, pod, sandbox string) {
	if _, err := httpstream.Handshake(r, w, []string{portForwardProtocol}); err != nil {
		return // Handshake has answered
	}
	pf := newPortForwarder(h, pod, sandbox)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, pf.accept)
	if conn == nil {
		close(pf.done)
		return // the upgrader has answered
	}
	pf.run(conn)
}

func (h *handler) portForwardTunnel(w http.ResponseWriter, r *http.Request, pod, sandbox string) {
	up := websocket.Upgrader{
		Subprotocols: []string{wsTunnelPrefix + portForwardProtocol},
		// The caller is the API server, authorized above; browsers never get here.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		h.log.Debug("upgrading to a port-forward tunnel", "path", r.URL.Path, "err", err)
		return // the upgrader has answered
	}
	pf := newPortForwarder(h, pod, sandbox)
	conn, err := spdy.NewServerConnection(portforward.NewTunnelingConnection("portforward", ws), pf.accept)
	if err != nil {
		close(pf.done)
		_ = ws.Close()
		return
	}
	pf.run(conn)
}

const wsTunnelPrefix = "SPDY/3.1+"

// portForwarder serves the stream pairs of one SPDY port-forward connection.
type portForwarder struct {
	h            *handler
	pod, sandbox string
	incoming     chan httpstream.Stream
	// done is closed once the connection is over.
	done chan struct{}

	mu    sync.Mutex // guards pairs
	pairs map[string]*streamPair
}

func newPortForwarder(h *handler, pod, sandbox string) *portForwarder {
	return &portForwarder{h: h, pod: pod, sandbox: sandbox, incoming: make(chan httpstream.Stream),
		done: make(chan struct{}), pairs: map[string]*streamPair{}}
}

// accept is the connection's NewStreamHandler: it refuses a stream without a valid
// port and type, and hands the others to run.
func (pf *portForwarder) accept(st httpstream.Stream, _ <-chan struct{}) error {
	p := st.Headers().Get(corev1.PortHeader)
	if p == "" {
		return fmt.Errorf("%q header is required", corev1.PortHeader)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return fmt.Errorf("unable to parse %q as a port: %v", p, err)
	}
	if port < 1 {
		return fmt.Errorf("port %q must be > 0", p)
	}
	switch t := st.Headers().Get(corev1.StreamType); t {
	case corev1.StreamTypeData, corev1.StreamTypeError:
	case "":
		return fmt.Errorf("%q header is required", corev1.StreamType)
	default:
		return fmt.Errorf("invalid stream type %q", t)
	}
	select {
	case pf.incoming <- st:
		return nil
	case <-pf.done:
		return errors.New("the connection is closed")
	}
}

// run pairs the connection's streams and forwards each complete pair until the
// connection closes.
func (pf *portForwarder) run(conn httpstream.Connection) {
	defer conn.Close()
	defer close(pf.done)
	conn.SetIdleTimeout(idleTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case <-conn.CloseChan():
			return
		case st := <-pf.incoming:
			id := requestID(st)
			pf.mu.Lock()
			p, ok := pf.pairs[id]
			if !ok {
				p = &streamPair{id: id, complete: make(chan struct{})}
				pf.pairs[id] = p
				go pf.expire(conn, p)
			}
			pf.mu.Unlock()
			complete, err := p.add(st)
			switch {
			case err != nil:
				p.fail(fmt.Sprintf("error processing stream for request %s: %v", id, err))
			case complete:
				pf.forget(p)
				go pf.forward(ctx, conn, p)
			}
		}
	}
}

// expire gives up on a pair whose streams have not all come in time.
func (pf *portForwarder) expire(conn httpstream.Connection, p *streamPair) {
	t := time.NewTimer(streamCreationTimeout)
	defer t.Stop()
	select {
	case <-t.C:
		p.fail(fmt.Sprintf("timed out waiting for streams of request %s", p.id))
		pf.forget(p)
		p.mu.Lock()
		conn.RemoveStreams(p.streams()...)
		p.mu.Unlock()
	case <-p.complete:
	case <-pf.done:
	}
}

func (pf *portForwarder) forget(p *streamPair) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.pairs[p.id] == p {
		delete(pf.pairs, p.id)
	}
}

// forward copies between a pair's data stream and its port; a failure is told on the
// error stream.
func (pf *portForwarder) forward(ctx context.Context, conn httpstream.Connection, p *streamPair) {
	defer conn.RemoveStreams(p.data, p.errs)
	defer p.errs.Close()
	defer p.data.Close()
	port, _ := strconv.ParseInt(p.data.Headers().Get(corev1.PortHeader), 10, 32)
	if err := pf.h.rt.PortForward(ctx, pf.sandbox, int32(port), p.data); err != nil {
		_, _ = fmt.Fprintf(p.errs, "error forwarding port %d to pod %s: %v", port, pf.pod, err)
	}
}

// requestID names the pair a stream belongs to: its requestID header or, from clients
// too old to send one, a guess from the stream's ID (a pair's two streams are opened one
// after the other, error first, and SPDY client stream IDs go up by two).
func requestID(st httpstream.Stream) string {
	if id := st.Headers().Get(corev1.PortForwardRequestIDHeader); id != "" {
		return id
	}
	id := int(st.Identifier())
	if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
		id -= 2
	}
	return strconv.Itoa(id)
}

// streamPair is the data and error streams of one forwarded connection.
type streamPair struct {
	id       string
	complete chan struct{} // closed once both streams are in

	mu   sync.Mutex // guards data and errs
	data httpstream.Stream
	errs httpstream.Stream
}

// add records a stream and reports whether the pair is complete.
func (p *streamPair) add(st httpstream.Stream) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch st.Headers().Get(corev1.StreamType) {
	case corev1.StreamTypeError:
		if p.errs != nil {
			return false, errors.New("error stream already assigned")
		}
		p.errs = st
	case corev1.StreamTypeData:
		if p.data != nil {
			return false, errors.New("data stream already assigned")
		}
		p.data = st
	}
	if p.errs != nil && p.data != nil {
		close(p.complete)
		return true, nil
	}
	return false, nil
}

// fail tells the client msg on the error stream, if it is open.
func (p *streamPair) fail(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.errs != nil {
		_, _ = fmt.Fprint(p.errs, msg)
	}
}

// streams returns the pair's streams so far; p.mu must be held.
func (p *streamPair) streams() []httpstream.Stream {
	var out []httpstream.Stream
	for _, st := range []httpstream.Stream{p.data, p.errs} {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// portForwardChannels serves the WebSocket channel protocol: for the i-th port of the
// query, channel 2i carries data and 2i+1 errors, each starting with the port as two
// little-endian bytes.
func (h *handler) portForwardChannels(w http.ResponseWriter, r *http.Request, pod, sandbox string) {
	ports, err := queryPorts(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var channels []wsstream.ChannelType
	for range ports {
		channels = append(channels, wsstream.ReadWriteChannel, wsstream.WriteChannel)
	}
	raw := wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"": raw,
		"v4." + wsstream.ChannelWebSocketProtocol:       raw,
		"v4." + wsstream.Base64ChannelWebSocketProtocol: {Binary: false, Channels: channels},
	})
	conn.SetIdleTimeout(idleTimeout)
	nw := newCloseNotifier(w)
	_, chans, err := conn.Open(nw, r)
	if err != nil {
		h.log.Debug("upgrading to a websocket", "path", r.URL.Path, "err", err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-nw.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for i, port := range ports {
		data, errs := chans[2*i], chans[2*i+1]
		head := binary.LittleEndian.AppendUint16(nil, uint16(port))
		_, _ = data.Write(head)
		_, _ = errs.Write(head)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer errs.Close()
			defer data.Close()
			if err := h.rt.PortForward(ctx, sandbox, port, data); err != nil {
				_, _ = fmt.Fprintf(errs, "error forwarding port %d to pod %s: %v", port, pod, err)
			}
		}()
	}
	wg.Wait()
}

// queryPorts reads the ports of a WebSocket port forward: port=P, repeated or
// comma-separated.
func queryPorts(q url.Values) ([]int32, error) {
	values := q[corev1.PortHeader]
	if len(values) == 0 {
		return nil, fmt.Errorf("query parameter %q is required", corev1.PortHeader)
	}
	var ports []int32
	for _, v := range values {
		if v == "" {
			return nil, fmt.Errorf("query parameter %q cannot be empty", corev1.PortHeader)
		}
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("unable to parse %q as a port: %v", v, err)
			}
			if n < 1 {
				return nil, fmt.Errorf("port %q must be > 0", v)
			}
			ports = append(ports, int32(n))
		}
	}
	return ports, nil
}
