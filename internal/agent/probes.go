package agent

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podium/podium/internal/agent/prober"
)

// probeEvents turns what the prober finds into events, kills and re-syncs.
type probeEvents struct {
	a *Agent
}

var _ prober.Events = probeEvents{}

func (e probeEvents) pod(c prober.Container) *corev1.Pod {
	e.a.mu.Lock()
	w := e.a.workers[types.UID(c.PodUID)]
	e.a.mu.Unlock()
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// Unhealthy implements prober.Events.
func (e probeEvents) Unhealthy(c prober.Container, kind prober.Kind, msg string) {
	if pod := e.pod(c); pod != nil {
		w := &worker{a: e.a}
		w.event(pod, c.Spec.Name, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", kind, strings.TrimSpace(msg)))
	}
}

// Warned implements prober.Events.
func (e probeEvents) Warned(c prober.Container, kind prober.Kind, msg string) {
	if pod := e.pod(c); pod != nil {
		w := &worker{a: e.a}
		w.event(pod, c.Spec.Name, corev1.EventTypeWarning, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", kind, strings.TrimSpace(msg)))
	}
}

// Failed implements prober.Events: the container is stopped, and restarts as its pod's
// restartPolicy says.
func (e probeEvents) Failed(c prober.Container, kind prober.Kind) {
	pod := e.pod(c)
	if pod == nil {
		return
	}
	w := &worker{a: e.a}
	w.event(pod, c.Spec.Name, corev1.EventTypeNormal, "Killing",
		fmt.Sprintf("Container %s failed %s probe, will be restarted", c.Spec.Name, strings.ToLower(kind.String())))
	grace := gracePeriod(pod)
	p := c.Spec.LivenessProbe
	if kind == prober.Startup {
		p = c.Spec.StartupProbe
	}
	if p != nil && p.TerminationGracePeriodSeconds != nil {
		grace = *p.TerminationGracePeriodSeconds
	}
	go func() {
		_ = e.a.rt.StopContainer(context.Background(), c.ID, grace)
		e.wake(c)
	}()
}

// Changed implements prober.Events.
func (e probeEvents) Changed(c prober.Container) { e.wake(c) }

func (e probeEvents) wake(c prober.Container) {
	e.a.mu.Lock()
	w := e.a.workers[types.UID(c.PodUID)]
	e.a.mu.Unlock()
	if w != nil {
		w.wake()
	}
}

// syncProbes starts and stops probe workers for a pod's running containers, and
// returns the readiness and startup verdicts for its status.
func (a *Agent) syncProbes(ctx context.Context, pod *corev1.Pod, rp *RuntimePod) (ready, started map[string]bool) {
	ready, started = map[string]bool{}, map[string]bool{}
	var running []prober.Container
	ip := sandboxIP(pod, rp.Sandbox, a.cfg.Info.InternalIP)
	for _, c := range rp.Containers {
		if !c.Running() || rp.latest(c.Name) != c {
			continue
		}
		spec := findContainer(pod, c.Name)
		if spec == nil {
			continue
		}
		running = append(running, prober.Container{PodUID: string(pod.UID), PodName: describe(pod), PodIP: ip, ID: c.ID, Spec: spec, StartedAt: c.Started})
	}
	a.probes.Sync(ctx, string(pod.UID), running)
	for _, c := range running {
		if r, ok := a.probes.Ready(c.PodUID, c.Spec.Name, c.ID); ok {
			ready[c.Spec.Name] = r
		}
		if s, ok := a.probes.Started(c.PodUID, c.Spec.Name, c.ID); ok {
			started[c.Spec.Name] = s
		}
	}
	return ready, started
}

// markUnstarted marks the running containers whose startup probe has not succeeded (or
// not run yet), for the plan: what follows a sidecar waits until it has started.
func (a *Agent) markUnstarted(pod *corev1.Pod, rp *RuntimePod) {
	for _, c := range rp.Containers {
		if !c.Running() {
			continue
		}
		spec := findContainer(pod, c.Name)
		if spec == nil || spec.StartupProbe == nil {
			continue
		}
		started, found := a.probes.Started(string(pod.UID), c.Name, c.ID)
		c.Unstarted = !found || !started
	}
}
