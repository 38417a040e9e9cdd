package stream

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/streaming/pkg/httpstream"
)

func portForwardAgent(t *testing.T) (string, *rest.Config) {
	t.Helper()
	pods := newFakePods()
	pods.sandboxes["ns/p"] = "sb1"
	srv, cfg := startAgent(t, Config{Runtime: &fakeRuntime{echo: startEcho(t)}, Pods: pods})
	return srv.URL, cfg
}

// dialers makes a client-go port-forward dialer of each kind, as kubectl does.
var dialers = []struct {
	name string
	new  func(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error)
}{
	{name: "spdy", new: func(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error) {
		transport, upgrader, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			return nil, err
		}
		return spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, "POST", u), nil
	}},
	{name: "websocket tunnel", new: func(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error) {
		return portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
	}},
}

// forward starts a client-go port forward of remote port and returns the local port and
// the forwarder's result.
func forward(t *testing.T, dialer httpstream.Dialer, remote int) (int, <-chan error) {
	t.Helper()
	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddressesForStreaming(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", remote)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	t.Cleanup(func() { close(stop) })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port forward: %v", err)
	}
	ports, err := pf.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return int(ports[0].Local), done
}

func TestPortForward(t *testing.T) {
	base, cfg := portForwardAgent(t)
	u, _ := url.Parse(base + "/portForward/ns/p")
	for _, d := range dialers {
		t.Run(d.name, func(t *testing.T) {
			dialer, err := d.new(cfg, u)
			if err != nil {
				t.Fatal(err)
			}
			local, _ := forward(t, dialer, 80)
			for i := range 3 {
				conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local))
				if err != nil {
					t.Fatal(err)
				}
				msg := fmt.Sprintf("ping %d\n", i)
				if _, err := io.WriteString(conn, msg); err != nil {
					t.Fatal(err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, err := bufio.NewReader(conn).ReadString('\n')
				conn.Close()
				if err != nil || got != msg {
					t.Fatalf("connection %d: read %q, %v", i, got, err)
				}
			}
		})
		t.Run(d.name+"/refused", func(t *testing.T) {
			dialer, err := d.new(cfg, u)
			if err != nil {
				t.Fatal(err)
			}
			local, done := forward(t, dialer, 81)
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if data, err := io.ReadAll(conn); err != nil || len(data) > 0 {
				t.Fatalf("read %q, %v", data, err)
			}
			// As in kubectl, an error from the pod ends the port forward.
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("the port forward went on")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the port forward went on")
			}
		})
	}
}

// TestPortForwardChannels drives the WebSocket channel protocol by hand: per port a
// data and an error channel, each opening with the port.
func TestPortForwardChannels(t *testing.T) {
	base, cfg := portForwardAgent(t)
	d := websocket.Dialer{
		Subprotocols:    []string{"v4.channel.k8s.io"},
		TLSClientConfig: must(rest.TLSConfigFor(cfg)),
	}
	header := http.Header{"Authorization": {"Bearer " + testToken}}
	ws, resp, err := d.Dial(strings.Replace(base, "https", "wss", 1)+"/portForward/ns/p?port=80,81", header)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	if ws.Subprotocol() != "v4.channel.k8s.io" {
		t.Fatalf("subprotocol %q", ws.Subprotocol())
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := map[byte]string{}
	read := func() (byte, []byte) {
		t.Helper()
		_, msg, err := ws.ReadMessage()
		if err != nil || len(msg) == 0 {
			t.Fatalf("read %q: %v", msg, err)
		}
		return msg[0], msg[1:]
	}
	for range 4 {
		ch, data := read()
		if len(data) != 2 {
			t.Fatalf("channel %d opened with %q", ch, data)
		}
		got[ch] = fmt.Sprint(binary.LittleEndian.Uint16(data))
	}
	if want := map[byte]string{0: "80", 1: "80", 2: "81", 3: "81"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("channel ports %v, want %v", got, want)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, append([]byte{0}, "hello"...)); err != nil {
		t.Fatal(err)
	}
	var echoed, refused string
	for echoed != "hello" || refused == "" {
		ch, data := read()
		switch ch {
		case 0:
			echoed += string(data)
		case 3:
			refused += string(data)
		default:
			t.Fatalf("unexpected %q on channel %d", data, ch)
		}
	}
	if refused != "error forwarding port 81 to pod p: connection refused" {
		t.Fatalf("error channel: %q", refused)
	}
}

func TestPortForwardRefused(t *testing.T) {
	base, cfg := portForwardAgent(t)
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/portForward/ns/q": "pod \"q\" does not exist",
		"/portForward/ns/p": "unable to upgrade: header X-Stream-Protocol-Version does not exist",
	} {
		resp, err := client.Post(base+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), want) {
			t.Errorf("%s: %d %q, want %q", path, resp.StatusCode, body, want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
