package prober

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	clocktesting "k8s.io/utils/clock/testing"
)

type recorder struct {
	mu        sync.Mutex
	unhealthy []string
	warned    []string
	failed    []Kind
	changed   int
}

func (r *recorder) Warned(_ Container, k Kind, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warned = append(r.warned, k.String()+" probe warning: "+msg)
}

func (r *recorder) Unhealthy(_ Container, k Kind, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unhealthy = append(r.unhealthy, k.String()+" probe failed: "+msg)
}
func (r *recorder) Failed(_ Container, k Kind) {
	r.mu.Lock()
	r.failed = append(r.failed, k)
	r.mu.Unlock()
}
func (r *recorder) Changed(Container) { r.mu.Lock(); r.changed++; r.mu.Unlock() }

// server answers /ok with 200, /moved with a redirect, everything else with 404.
func server(t *testing.T) (ip string, port int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Probe") != "" && r.Header.Get("X-Probe") != "yes" {
				w.WriteHeader(500)
			}
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/away":
			http.Redirect(w, r, "http://0.0.0.0/", http.StatusFound)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	host, p, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ = strconv.Atoi(p)
	return host, port
}

func httpProbe(path string, port intstr.IntOrString) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
}

func TestHandlers(t *testing.T) {
	ip, port := server(t)
	c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}
	target := Target{PodIP: ip, Container: c}
	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
		want  Result
		msg   string
	}{
		{"http ok", httpProbe("/ok", intstr.FromInt(port)), Success, ""},
		{"http by port name", httpProbe("/ok", intstr.FromString("http")), Success, ""},
		{"http redirect on the same host", httpProbe("/moved", intstr.FromInt(port)), Success, ""},
		{"http 404", httpProbe("/not/exist", intstr.FromInt(port)), Failure, "HTTP probe failed with statuscode: 404"},
		{"http refused", httpProbe("/", intstr.FromInt(1)), Failure, "connect: connection refused"},
		{"tcp ok", &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(port)}}, TimeoutSeconds: 1}, Success, ""},
		{"tcp refused", &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(1)}}, TimeoutSeconds: 1}, Failure, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, msg := Run(context.Background(), tc.probe, target, nil)
			if (res == Warning && tc.want == Success) || res == tc.want {
				if !strings.Contains(msg, tc.msg) {
					t.Fatalf("message %q, want %q", msg, tc.msg)
				}
				return
			}
			t.Fatalf("result %v (%s), want %v", res, msg, tc.want)
		})
	}
	withHeader := httpProbe("/ok", intstr.FromInt(port))
	withHeader.HTTPGet.HTTPHeaders = []corev1.HTTPHeader{{Name: "X-Probe", Value: "no"}}
	if res, _ := Run(context.Background(), withHeader, target, nil); res != Failure {
		t.Fatal("httpHeaders were not sent")
	}
}

type execer struct{ code int32 }

func (e execer) ExecSync(ctx context.Context, _ string, cmd []string, _ int64) ([]byte, []byte, int32, error) {
	if cmd[0] == "sleep" {
		<-ctx.Done()
		return nil, nil, -1, ctx.Err()
	}
	return []byte("out"), nil, e.code, nil
}

func TestExecTimeout(t *testing.T) {
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "10"}}}, TimeoutSeconds: 1}
	start := time.Now()
	res, msg := Run(context.Background(), p, Target{Container: &corev1.Container{}}, execer{})
	if res != Failure || !strings.Contains(msg, "timed out") || time.Since(start) > 3*time.Second {
		t.Fatalf("exec timeout: %v %q after %v", res, msg, time.Since(start))
	}
	p.Exec.Command = []string{"check"}
	if res, _ := Run(context.Background(), p, Target{Container: &corev1.Container{}}, execer{code: 1}); res != Failure {
		t.Fatal("non-zero exit passed")
	}
}

// TestThresholds steps a fake clock: nothing before the initial delay, failures counted
// to the threshold, then one Failed report for liveness and no more probes until the
// container changes.
func TestThresholds(t *testing.T) {
	ip, port := server(t)
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	rec := &recorder{}
	probe := httpProbe("/not/exist", intstr.FromInt(port))
	probe.InitialDelaySeconds = 5
	c := Container{PodIP: ip, ID: "c1", Spec: &corev1.Container{Name: "app"}, StartedAt: clk.Now()}
	w := &worker{kind: Liveness, probe: probe, c: c, clock: clk, events: rec, state: &state{}, last: -1}
	w.doProbe(context.Background())
	if len(rec.unhealthy) != 0 {
		t.Fatal("probed before the initial delay")
	}
	clk.Step(5 * time.Second)
	for i := 0; i < 3; i++ {
		w.doProbe(context.Background())
	}
	if len(rec.unhealthy) != 3 || len(rec.failed) != 1 || rec.failed[0] != Liveness ||
		rec.unhealthy[0] != "Liveness probe failed: HTTP probe failed with statuscode: 404" {
		t.Fatalf("after three failures: %+v", rec)
	}
	w.doProbe(context.Background())
	if len(rec.unhealthy) != 3 {
		t.Fatal("probed again after reporting the failure")
	}

	// Readiness: not ready until the first success; failures make it unready, no kill.
	ready := httpProbe("/ok", intstr.FromInt(port))
	st := &state{hasReady: true}
	rw := &worker{kind: Readiness, probe: ready, c: c, clock: clk, events: rec, state: st, last: -1}
	m := &Manager{entries: map[string]*entry{"u/app": {id: "c1", state: st}}}
	if r, _ := m.Ready("u", "app", "c1"); r {
		t.Fatal("ready before any probe")
	}
	rw.doProbe(context.Background())
	if r, _ := m.Ready("u", "app", "c1"); !r {
		t.Fatal("not ready after a success")
	}
	ready.HTTPGet.Path = "/not/exist"
	for i := 0; i < 3; i++ {
		rw.doProbe(context.Background())
	}
	if r, _ := m.Ready("u", "app", "c1"); r || len(rec.failed) != 1 {
		t.Fatalf("readiness failure: ready %v, failed %v", r, rec.failed)
	}
}

// TestStartupGatesOthers: liveness and readiness wait for the startup probe.
func TestStartupGatesOthers(t *testing.T) {
	ip, port := server(t)
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	rec := &recorder{}
	st := &state{hasStartup: true, hasReady: true}
	c := Container{PodIP: ip, ID: "c1", Spec: &corev1.Container{Name: "app"}, StartedAt: clk.Now()}
	live := &worker{kind: Liveness, probe: httpProbe("/not/exist", intstr.FromInt(port)), c: c, clock: clk, events: rec, state: st, last: -1}
	start := &worker{kind: Startup, probe: httpProbe("/ok", intstr.FromInt(port)), c: c, clock: clk, events: rec, state: st, last: -1}
	live.doProbe(context.Background())
	if len(rec.unhealthy) != 0 {
		t.Fatal("liveness ran before startup succeeded")
	}
	start.doProbe(context.Background())
	if !st.started() || rec.changed != 1 {
		t.Fatal("startup success not recorded")
	}
	live.doProbe(context.Background())
	if len(rec.unhealthy) != 1 {
		t.Fatal("liveness did not run after startup")
	}
}

// TestStartupTriggersReadiness: the readiness worker is asked for a probe at once when
// the startup probe succeeds, rather than after its period.
func TestStartupTriggersReadiness(t *testing.T) {
	ip, port := server(t)
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	st := &state{hasStartup: true, hasReady: true, probeReadiness: make(chan struct{}, 1)}
	c := Container{PodIP: ip, ID: "c1", Spec: &corev1.Container{Name: "app"}, StartedAt: clk.Now()}
	start := &worker{kind: Startup, probe: httpProbe("/ok", intstr.FromInt(port)), c: c, clock: clk, events: &recorder{}, state: st, last: -1}
	start.doProbe(context.Background())
	select {
	case <-st.probeReadiness:
	default:
		t.Fatal("startup success did not ask for a readiness probe")
	}
}

// TestRedirectWarning: a redirect to another host passes with a ProbeWarning carrying
// the response body.
func TestRedirectWarning(t *testing.T) {
	ip, port := server(t)
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	rec := &recorder{}
	c := Container{PodIP: ip, ID: "c1", Spec: &corev1.Container{Name: "app"}, StartedAt: clk.Now()}
	st := &state{hasReady: true}
	w := &worker{kind: Readiness, probe: httpProbe("/away", intstr.FromInt(port)), c: c, clock: clk, events: rec, state: st, last: -1}
	w.doProbe(context.Background())
	want := `Readiness probe warning: Probe terminated redirects, Response body: <a href="http://0.0.0.0/">Found</a>.`
	if len(rec.warned) != 1 || !strings.HasPrefix(rec.warned[0], want) || len(rec.unhealthy) != 0 || !st.ready {
		t.Fatalf("redirect away: warned %q unhealthy %q ready %v", rec.warned, rec.unhealthy, st.ready)
	}
}

// TestTerminating: once the pod is being deleted, liveness probes stop and readiness
// probes go on, so readiness can turn false while it stops.
func TestTerminating(t *testing.T) {
	ip, port := server(t)
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	rec := &recorder{}
	st := &state{hasReady: true, ready: true}
	c := Container{PodIP: ip, ID: "c1", Spec: &corev1.Container{Name: "app"}, StartedAt: clk.Now()}
	m := &Manager{entries: map[string]*entry{"u/app": {id: "c1", state: st}}, terminating: map[string]bool{}}
	m.Terminating("u")
	live := &worker{kind: Liveness, probe: httpProbe("/not/exist", intstr.FromInt(port)), c: c, clock: clk, events: rec, state: st, last: -1}
	ready := &worker{kind: Readiness, probe: httpProbe("/not/exist", intstr.FromInt(port)), c: c, clock: clk, events: rec, state: st, last: -1}
	for i := 0; i < 3; i++ {
		live.doProbe(context.Background())
		ready.doProbe(context.Background())
	}
	if len(rec.failed) != 0 {
		t.Fatal("liveness probed while terminating")
	}
	if r, _ := m.Ready("u", "app", "c1"); r || len(rec.unhealthy) != 3 {
		t.Fatalf("readiness while terminating: ready %v, %d failures", r, len(rec.unhealthy))
	}
}
