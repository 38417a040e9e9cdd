package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A pod's stop: its graceful termination when deleted, the kill of its containers and
// sandbox (which must leave nothing running before anything is removed), and the
// removal of what is left.

// termination is a pod's graceful stop, begun when the agent first saw it deleted.
type termination struct {
	deadline *deadline
	grace    int64         // the grace period it was last given, in seconds
	done     chan struct{} // closed once every container stopped
	err      error         // what failed to stop, set before done closes
}

// terminate stops a deleted pod within its grace period. While its containers stop, its
// status goes on being reported (readiness probes go on; liveness and startup probes
// stop); once they stopped it reports the final status, removes the pod's containers
// and files, and deletes the API object.
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod, rp *RuntimePod, sandboxes []string) (bool, time.Duration) {
	a := w.a
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = *pod.DeletionGracePeriodSeconds
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	switch {
	case w.term == nil:
		a.probes.Terminating(string(w.uid))
		t := &termination{deadline: newDeadline(a.cfg.Clock, time.Duration(grace)*time.Second), grace: grace, done: make(chan struct{})}
		w.term = t
		a.running.Go(func() {
			t.err = w.killPod(ctx, pod, rp, t.deadline)
			close(t.done)
			w.wake()
		})
	case grace < w.term.grace:
		w.term.grace = grace
		w.term.deadline.shorten(time.Duration(grace) * time.Second)
	}
	finished := false
	select {
	case <-w.term.done:
		finished = true
	default:
	}
	if finished { // the runtime as it is after the last container stopped
		if snap, _, err := takeSnapshot(ctx, a.rt, a.dirs, w.uid); err == nil && snap[w.uid] != nil {
			rp = snap[w.uid]
			w.addRemovedRuns(rp)
		}
	}
	ready, started := a.syncProbes(ctx, pod, rp)
	w.reportStatus(ctx, pod, rp, w.waiting, ready, started, finished, nil)
	if !finished {
		return false, 0 // woken when the containers have stopped
	}
	if err := errors.Join(w.term.err, w.stillRunning(ctx)); err != nil {
		// Killed again after a back-off; the pod stays until nothing of it runs.
		w.term = nil
		return false, w.killFailed(pod, err)
	}
	w.killBackOff = 0
	a.probes.Stop(string(w.uid))
	w.cleanUp(ctx, pod, sandboxes)
	a.planner.Forget(pod)
	zero := int64(0)
	err := a.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		a.log.Warn("deleting a terminated pod", "pod", describe(pod), "err", err)
		return false, time.Second
	}
	return true, 0
}

// killPod runs preStop hooks and stops every running container within the deadline:
// the app containers together, then the sidecars one after another in the reverse of
// their order (a sidecar may serve the hooks of those before it); then it stops the
// sandbox. A deadline moved earlier cuts hooks short and stops containers sooner. It
// returns what the runtime failed to stop.
func (w *worker) killPod(ctx context.Context, pod *corev1.Pod, rp *RuntimePod, dl *deadline) error {
	a := w.a
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	failed := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	stop := func(c *ContainerState) {
		defer wg.Done()
		spec := (*corev1.Container)(nil)
		if pod != nil {
			spec = findContainer(pod, c.Name)
			w.event(pod, c.Name, corev1.EventTypeNormal, "Killing", "Stopping container "+c.Name)
		}
		if spec != nil && spec.Lifecycle != nil && spec.Lifecycle.PreStop != nil && dl.left() > 0 {
			hookCtx, cancel := dl.context(ctx)
			if msg, err := w.runHook(hookCtx, pod, c.ID, spec, spec.Lifecycle.PreStop); err != nil {
				w.event(pod, c.Name, corev1.EventTypeWarning, "FailedPreStopHook", msg)
			}
			cancel()
		}
		// Stop again with what is left whenever the deadline moves earlier.
		for {
			_, moved := dl.get()
			done := make(chan error, 1)
			go func(left int64) { done <- a.rt.StopContainer(ctx, c.ID, left) }(dl.left())
			select {
			case err := <-done:
				if err != nil {
					failed(fmt.Errorf("stopping container %s: %w", c.Name, err))
				}
				return
			case <-moved:
			}
		}
	}
	sidecars := map[string]*ContainerState{}
	for _, c := range rp.Containers {
		if !c.Running() {
			continue
		}
		if pod != nil && isSidecarName(pod, c.Name) {
			sidecars[c.Name] = c
			continue
		}
		wg.Add(1)
		go stop(c)
	}
	wg.Wait()
	if pod != nil {
		for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
			if c := sidecars[pod.Spec.InitContainers[i].Name]; c != nil {
				wg.Add(1)
				stop(c)
			}
		}
	}
	if rp.Sandbox != nil {
		if err := a.rt.StopPodSandbox(ctx, rp.Sandbox.ID); err != nil {
			failed(fmt.Errorf("stopping the sandbox: %w", err))
		}
	}
	return errors.Join(errs...)
}

// stillRunning looks at the runtime afresh and returns an error naming the pod's
// containers that run, nil when none does. Nothing of a pod is removed, and nothing
// replaces its containers, until this says nil: a container must never run twice.
func (w *worker) stillRunning(ctx context.Context) error {
	snap, _, err := takeSnapshot(ctx, w.a.rt, w.a.dirs, w.uid)
	if err != nil {
		return fmt.Errorf("looking at the runtime: %w", err)
	}
	var running []string
	if rp := snap[w.uid]; rp != nil {
		for _, c := range rp.Containers {
			if c.Running() {
				running = append(running, c.Name)
			}
		}
	}
	if len(running) > 0 {
		return fmt.Errorf("containers still running: %s", strings.Join(running, ", "))
	}
	return nil
}

// killFailed reports a kill that left something running: the FailedKillPod event, as
// upstream, and the back-off before the next attempt (1s doubling to a minute).
func (w *worker) killFailed(pod *corev1.Pod, err error) time.Duration {
	if pod != nil {
		w.event(pod, "", corev1.EventTypeWarning, "FailedKillPod", "error killing pod: "+err.Error())
	} else {
		w.a.log.Warn("killing the containers of a pod that is gone", "uid", w.uid, "err", err)
	}
	w.killBackOff = min(max(2*w.killBackOff, time.Second), time.Minute)
	return w.killBackOff
}

func isSidecarName(pod *corev1.Pod, name string) bool {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return isSidecar(&pod.Spec.InitContainers[i])
		}
	}
	return false
}

// cleanUp removes every container and sandbox of the pod and its files on the host,
// and frees its host ports.
func (w *worker) cleanUp(ctx context.Context, pod *corev1.Pod, sandboxes []string) {
	a := w.a
	defer a.ports.release(w.uid)
	for _, sb := range sandboxes {
		if cs, err := a.rt.ListContainers(ctx, sb); err == nil {
			for _, c := range cs {
				_ = a.rt.RemoveContainer(ctx, c.Id)
			}
		}
		_ = a.rt.StopPodSandbox(ctx, sb)
		if err := a.rt.RemovePodSandbox(ctx, sb); err != nil {
			a.log.Warn("removing a sandbox", "sandbox", sb, "err", err)
		}
	}
	if err := tearDownPodDir(a.dirs.pod(string(w.uid))); err != nil {
		a.log.Warn("removing pod files", "uid", w.uid, "err", err)
	}
}

func gracePeriod(pod *corev1.Pod) int64 {
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}
