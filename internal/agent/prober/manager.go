package prober

import (
	"context"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// state is one container run's probe verdicts.
type state struct {
	mu         sync.Mutex // guards the fields below
	ready      bool
	hasReady   bool
	isStarted  bool
	hasStartup bool
	// terminating: the pod is being deleted; liveness and startup probes stop, and
	// readiness probes go on.
	terminating bool
	// probeReadiness asks the readiness worker for a probe now: the startup probe
	// succeeded, and readiness should not wait out its period.
	probeReadiness chan struct{}
}

func (s *state) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.hasStartup || s.isStarted
}

func (s *state) isTerminating() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.terminating
}

func (s *state) setReady(ok bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.ready != ok
	s.ready = ok
	return changed
}

func (s *state) setStarted(ok bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isStarted || !ok {
		return false // started stays once reached, for this run
	}
	s.isStarted = true
	return true
}

// entry is one container run being probed.
type entry struct {
	id     string // container ID: a new run gets a new entry
	state  *state
	cancel context.CancelFunc
}

// Manager runs the probe workers of every running container.
type Manager struct {
	clock   clock.WithTicker
	exec    Execer
	events  Events
	metrics *Metrics
	http    *http.Client

	mu          sync.Mutex        // guards entries and terminating
	entries     map[string]*entry // by pod UID + "/" + container name
	terminating map[string]bool   // pod UIDs
}

// NewManager returns a manager that execs through exec and reports to events; metrics
// may be nil.
func NewManager(clk clock.WithTicker, exec Execer, events Events, metrics *Metrics) *Manager {
	return &Manager{clock: clk, exec: exec, events: events, metrics: metrics, http: NewHTTPClient(), entries: map[string]*entry{}, terminating: map[string]bool{}}
}

// Sync makes the probe workers match the running containers of a pod: it starts
// workers for new runs and stops those of runs that ended. running holds the pod's
// running containers; everything else of the pod is stopped.
func (m *Manager) Sync(ctx context.Context, podUID string, running []Container) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := map[string]bool{}
	for _, c := range running {
		key := podUID + "/" + c.Spec.Name
		keep[key] = true
		if e, ok := m.entries[key]; ok && e.id == c.ID {
			continue
		}
		if e, ok := m.entries[key]; ok {
			e.cancel()
		}
		m.entries[key] = m.start(ctx, c, m.terminating[podUID])
	}
	prefix := podUID + "/"
	for key, e := range m.entries {
		if len(key) > len(prefix) && key[:len(prefix)] == prefix && !keep[key] {
			e.cancel()
			delete(m.entries, key)
		}
	}
}

// start begins the workers of one container run.
func (m *Manager) start(ctx context.Context, c Container, terminating bool) *entry {
	wctx, cancel := context.WithCancel(ctx)
	st := &state{hasReady: c.Spec.ReadinessProbe != nil, hasStartup: c.Spec.StartupProbe != nil, terminating: terminating,
		probeReadiness: make(chan struct{}, 1)}
	for _, p := range []struct {
		kind  Kind
		probe *corev1.Probe
	}{{Startup, c.Spec.StartupProbe}, {Liveness, c.Spec.LivenessProbe}, {Readiness, c.Spec.ReadinessProbe}} {
		if p.probe == nil {
			continue
		}
		w := &worker{kind: p.kind, probe: p.probe, c: c, clock: m.clock, exec: m.exec, events: m.events, state: st, last: -1, metrics: m.metrics, http: m.http}
		go w.run(wctx)
	}
	return &entry{id: c.ID, state: st, cancel: cancel}
}

// Ready reports whether a container is ready: true without a readiness probe, else
// once its readiness probe succeeded (and its startup probe, if any). found is false
// for containers the manager does not probe.
func (m *Manager) Ready(podUID, name, containerID string) (ready, found bool) {
	m.mu.Lock()
	e, ok := m.entries[podUID+"/"+name]
	m.mu.Unlock()
	if !ok || e.id != containerID {
		return false, false
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	started := !e.state.hasStartup || e.state.isStarted
	if !e.state.hasReady {
		return started, true
	}
	return started && e.state.ready, true
}

// Started reports whether a container's startup probe succeeded (true without one).
func (m *Manager) Started(podUID, name, containerID string) (started, found bool) {
	m.mu.Lock()
	e, ok := m.entries[podUID+"/"+name]
	m.mu.Unlock()
	if !ok || e.id != containerID {
		return false, false
	}
	return e.state.started(), true
}

// Terminating tells the manager a pod is being deleted: its liveness and startup probes
// stop, so that nothing restarts while it stops, and its readiness probes go on, as
// upstream's kubelet does.
func (m *Manager) Terminating(podUID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.terminating[podUID] = true
	prefix := podUID + "/"
	for key, e := range m.entries {
		if strings.HasPrefix(key, prefix) {
			e.state.mu.Lock()
			e.state.terminating = true
			e.state.mu.Unlock()
		}
	}
}

// Stop ends every worker of a pod and forgets it.
func (m *Manager) Stop(podUID string) {
	m.Sync(context.Background(), podUID, nil)
	m.mu.Lock()
	delete(m.terminating, podUID)
	m.mu.Unlock()
}
