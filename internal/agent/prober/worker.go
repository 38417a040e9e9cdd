package prober

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// Kind is a probe's kind.
type Kind int

// The probe kinds.
const (
	Liveness Kind = iota
	Readiness
	Startup
)

func (k Kind) String() string {
	return [...]string{"Liveness", "Readiness", "Startup"}[k]
}

// Container is a running container as the prober sees it.
type Container struct {
	PodUID    string
	PodName   string // "namespace/name", for messages
	PodIP     string
	ID        string
	Spec      *corev1.Container
	StartedAt time.Time
}

// Events receives what probes find. Methods may be called from many workers at once.
type Events interface {
	// Unhealthy reports a failed probe: an Unhealthy event with message.
	Unhealthy(c Container, kind Kind, message string)
	// Warned reports a probe that succeeded with a warning (a redirect to another
	// host): a ProbeWarning event with message.
	Warned(c Container, kind Kind, message string)
	// Failed reports a liveness or startup probe past its failure threshold: the
	// container is to be killed and restarted.
	Failed(c Container, kind Kind)
	// Changed reports that a container's ready or started result changed.
	Changed(c Container)
}

// worker probes one container with one probe, periodically.
type worker struct {
	kind   Kind
	probe  *corev1.Probe
	c      Container
	clock  clock.WithTicker
	exec   Execer
	events Events
	state  *state // shared with the manager for reads
	// metrics may be nil.
	metrics *Metrics
	http    *http.Client

	resultRun int    // consecutive results equal to last
	last      Result // the last result counted
	onHold    bool   // stopped counting after a Failed until the container changes
}

// run probes until ctx ends: the first probe after the initial delay (and a small jitter
// for the first period), then every period.
func (w *worker) run(ctx context.Context) {
	period := time.Duration(w.probe.PeriodSeconds) * time.Second
	if period <= 0 {
		period = 10 * time.Second
	}
	// Spread the first probes of many containers over their first period, as upstream.
	jitter := time.Duration(rand.Float64() * float64(min(period, time.Second)))
	select {
	case <-ctx.Done():
		return
	case <-w.clock.After(jitter):
	}
	t := w.clock.NewTicker(period)
	defer t.Stop()
	var now <-chan struct{}
	if w.kind == Readiness {
		now = w.state.probeReadiness
	}
	for {
		w.doProbe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-now:
		}
	}
}

// doProbe runs one probe, counts it against the thresholds and reports what changed.
// It returns false when the worker should stop.
func (w *worker) doProbe(ctx context.Context) bool {
	if w.clock.Since(w.c.StartedAt) < time.Duration(w.probe.InitialDelaySeconds)*time.Second {
		return true
	}
	if w.kind != Startup && !w.state.started() {
		return true // liveness and readiness wait for the startup probe
	}
	if w.kind == Startup && w.state.started() {
		return true // a startup probe stops once it succeeded
	}
	if w.onHold || (w.kind != Readiness && w.state.isTerminating()) {
		return true
	}
	start := time.Now()
	res, msg := Run(ctx, w.probe, Target{PodIP: w.c.PodIP, ContainerID: w.c.ID, Container: w.c.Spec, HTTP: w.http}, w.exec)
	w.metrics.observe(w.kind, res, time.Since(start))
	if ctx.Err() != nil {
		return false
	}
	if res == Warning {
		w.events.Warned(w.c, w.kind, msg)
		res = Success
	}
	if res == Failure {
		w.events.Unhealthy(w.c, w.kind, msg)
	}
	if res == w.last {
		w.resultRun++
	} else {
		w.last, w.resultRun = res, 1
	}
	success := int(max(w.probe.SuccessThreshold, 1))
	failure := int(max(w.probe.FailureThreshold, 1))
	switch {
	case res == Success && w.resultRun >= success:
		w.set(true)
	case res == Failure && w.resultRun >= failure:
		w.set(false)
		if w.kind == Liveness || w.kind == Startup {
			w.onHold = true
			w.events.Failed(w.c, w.kind)
		}
	}
	return true
}

// set records the probe's verdict; liveness has no visible state.
func (w *worker) set(ok bool) {
	var changed bool
	switch w.kind {
	case Readiness:
		changed = w.state.setReady(ok)
	case Startup:
		changed = w.state.setStarted(ok)
		if changed {
			select {
			case w.state.probeReadiness <- struct{}{}:
			default:
			}
		}
	}
	if changed {
		w.events.Changed(w.c)
	}
}
