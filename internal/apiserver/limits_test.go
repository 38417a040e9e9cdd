package apiserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// holdCreate is an Admitter that holds the create of the ConfigMap "held" until release
// closes, telling entered when it started.
type holdCreate struct{ entered, release chan struct{} }

func (h holdCreate) AdmitCreate(_ context.Context, obj runtime.Object) error {
	if m, err := metaOf(obj); err == nil && m.GetName() == "held" {
		close(h.entered)
		<-h.release
	}
	return nil
}

func (holdCreate) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }

func metaOf(obj runtime.Object) (metav1.Object, error) {
	if m, ok := obj.(metav1.Object); ok {
		return m, nil
	}
	return nil, fmt.Errorf("%T has no metadata", obj)
}

func configMapBody(name, value string) []byte {
	return []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"},"data":{"k":"` + value + `"}}`)
}

// TestInFlightLimits: with one write in flight and room for one, the next write gets 429
// with Retry-After; reads have a pool of their own, and a watch takes no slot.
func TestInFlightLimits(t *testing.T) {
	hold := holdCreate{entered: make(chan struct{}), release: make(chan struct{})}
	ts := newTestServerWith(t, func(c *Config) { c.MaxMutatingInFlight, c.MaxReadOnlyInFlight = 1, 1 },
		func(s *Server) { s.Admit(schema.GroupResource{Resource: "configmaps"}, hold) })
	ts.createNamespace(t, "ns")
	const path = "/api/v1/namespaces/ns/configmaps"

	held := make(chan int, 1)
	go func() {
		r, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(string(configMapBody("held", "v"))))
		r.Header.Set("Authorization", "Bearer "+adminToken)
		r.Header.Set("Content-Type", mediaJSON)
		resp, err := ts.Client().Do(r)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	<-hold.entered

	resp := ts.do(t, request{method: http.MethodPost, path: path, token: adminToken, contentType: mediaJSON, body: configMapBody("second", "v")})
	var st metav1.Status
	decodeJSON(t, resp, &st)
	if resp.code != http.StatusTooManyRequests || resp.header.Get("Retry-After") != "1" || st.Reason != metav1.StatusReasonTooManyRequests {
		t.Fatalf("a second write: %d, Retry-After %q, %+v; want 429 with Retry-After 1", resp.code, resp.header.Get("Retry-After"), st)
	}

	// A watch stays open beside a list: it does not count against the read pool of one.
	watch, err := http.NewRequest(http.MethodGet, ts.URL+path+"?watch=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	watch.Header.Set("Authorization", "Bearer "+adminToken)
	wresp, err := ts.Client().Do(watch)
	if err != nil || wresp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %v %v", err, wresp)
	}
	defer wresp.Body.Close()
	ts.mustDo(t, http.StatusOK, request{path: path})

	close(hold.release)
	if code := <-held; code != http.StatusCreated {
		t.Fatalf("the held write: %d", code)
	}
	ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: path, contentType: mediaJSON, body: configMapBody("third", "v")})
}

// TestUnauthenticatedConnectionCloses: a client without credentials gets its answer
// (the version, which is public; a 401 for a credential that is not valid) and then
// loses the connection, so that it cannot hold connections open.
func TestUnauthenticatedConnectionCloses(t *testing.T) {
	ts := newTestServer(t)
	resp := ts.do(t, request{path: "/version"})
	if resp.code != http.StatusOK || !resp.closed {
		t.Fatalf("status %d, connection closed %v; want 200 and a closed connection", resp.code, resp.closed)
	}
	resp = ts.do(t, request{path: "/version", token: "not-the-token"})
	if resp.code != http.StatusUnauthorized || !resp.closed {
		t.Fatalf("status %d, connection closed %v; want 401 and a closed connection", resp.code, resp.closed)
	}
	if resp := ts.do(t, request{path: "/version", token: adminToken}); resp.code != http.StatusOK || resp.closed {
		t.Fatalf("admin: status %d, connection closed %v", resp.code, resp.closed)
	}
}

// TestWatchOfAClientThatStopsReading: a watch whose client reads nothing is ended once a
// write has waited WatchWriteTimeout; it holds no watcher afterwards.
func TestWatchOfAClientThatStopsReading(t *testing.T) {
	ts := newTestServerWith(t, func(c *Config) { c.WatchWriteTimeout = 500 * time.Millisecond }, nil)
	ts.createNamespace(t, "ns")
	// A small receive buffer, so that the server's writes block soon.
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	conn, err := tls.DialWithDialer(d, "tcp", ts.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/namespaces/ns/configmaps?watch=true HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\n\r\n", adminToken)
	watchers := func() float64 {
		var m dto.Metric
		if err := ts.api.metrics.watchers.WithLabelValues("configmaps").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	waitUntil(t, "the watch registered", func() bool { return watchers() == 1 })
	big := strings.Repeat("x", 900<<10)
	for i := range 8 {
		ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: "/api/v1/namespaces/ns/configmaps", contentType: mediaJSON,
			body: configMapBody(fmt.Sprintf("big-%d", i), big)})
	}
	waitUntil(t, "the watch of a client that stopped reading ended", func() bool { return watchers() == 0 })
}

// waitUntil polls cond until it holds, for at most 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPanicIs500: a handler that panics answers 500 and the server goes on.
func TestPanicIs500(t *testing.T) {
	ts := newTestServer(t)
	h := ts.api.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/namespaces", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "the server panicked serving this request: boom") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	ts.mustDo(t, http.StatusOK, request{path: "/api/v1/namespaces"})
}

// TestIdleWatchOutlivesTheWriteTimeout: WatchWriteTimeout bounds a write, not the time
// between events. A watch over HTTP/2 (what kubectl and client-go speak) that has had
// nothing to send for longer than the timeout still delivers the next event.
func TestIdleWatchOutlivesTheWriteTimeout(t *testing.T) {
	ts := newTestServerWith(t, func(c *Config) { c.WatchWriteTimeout = 300 * time.Millisecond }, nil)
	ts.createNamespace(t, "ns")
	srv := httptest.NewUnstartedServer(ts.api.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/namespaces/ns/configmaps?watch=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	time.Sleep(1 * time.Second) // idle for three write timeouts: the point of the test
	ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: "/api/v1/namespaces/ns/configmaps", contentType: mediaJSON,
		body: configMapBody("after-idle", "x")})
	var ev metav1.WatchEvent
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		t.Fatalf("reading the event after the idle time: %v", err)
	}
	if ev.Type != "ADDED" || !strings.Contains(string(ev.Object.Raw), "after-idle") {
		t.Fatalf("event %s %s", ev.Type, ev.Object.Raw)
	}
}
