package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/agent/prober"
	"github.com/podium/podium/internal/runtime"
)

// worker runs one pod: it syncs whenever the pod changes in the API or in the runtime,
// or a back-off ends, until the pod is gone.
type worker struct {
	a   *Agent
	uid types.UID

	mu      sync.Mutex // guards pod, deleted, sig
	pod     *corev1.Pod
	deleted bool   // the API object is gone
	sig     string // the runtime state last seen
	kick    chan struct{}
	waiting map[string]Waiting // reasons from failed starts, kept between syncs
	// reported holds what the events sent once were about (a rejection, a deadline, a
	// container's back-off), so that a later sync does not send them again.
	reported map[string]Waiting
	// failedRuns holds, by container name, the last run whose process could not
	// start; the runtime keeps no record of it.
	failedRuns map[string]*ContainerState
	// resizeErr is why the last in-place resize failed ("" when it did not), and
	// resizePending why the last plan did not carry one out.
	resizeErr     string
	resizePending *Waiting
	// volumesAt is when refreshVolumes last wrote the pod's volumes.
	volumesAt time.Time
	// term is the pod's termination, once it was seen deleted.
	term *termination
	// killBackOff is the wait before killing again after a kill that left something
	// running; zero after a kill that worked.
	killBackOff time.Duration
	// removedRuns holds, by container name, the last run of each container that was
	// removed with a sandbox that died (its shim or its namespaces gone), so that
	// lastState, restart counts and logs --previous go on in the new sandbox. Guarded
	// by mu: lookups read it.
	removedRuns map[string]*ContainerState
}

func newWorker(a *Agent, uid types.UID) *worker {
	return &worker{a: a, uid: uid, kick: make(chan struct{}, 1), waiting: map[string]Waiting{}, reported: map[string]Waiting{}, failedRuns: map[string]*ContainerState{}}
}

func (w *worker) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	w.wake()
}

func (w *worker) gone() {
	w.mu.Lock()
	w.deleted = true
	w.mu.Unlock()
	w.wake()
}

func (w *worker) runtimeChanged(sig string) {
	w.mu.Lock()
	changed := sig != w.sig
	w.sig = sig
	w.mu.Unlock()
	if changed {
		w.wake()
	}
}

func (w *worker) run(ctx context.Context) {
	defer func() { w.a.workerDone(w.uid, w.term != nil) }()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry:
		}
		done, again := w.safeSync(ctx)
		if done {
			return
		}
		// Every pod is looked at again at least once a resync period, as upstream's
		// kubelet does (--sync-frequency): among other things, volumes get the current
		// contents of their ConfigMaps and Secrets.
		if resync := w.a.cfg.Resync; again <= 0 || again > resync {
			again = resync
		}
		retry = w.a.cfg.Clock.After(again)
	}
}

// refreshVolumes rewrites the files of a running pod's ConfigMap, Secret, downward API
// and projected volumes once a resync period (Config.Resync), so that running containers see updates
// (except through subPath mounts, as upstream).
func (w *worker) refreshVolumes(ctx context.Context, pod *corev1.Pod, rp *RuntimePod) {
	now := w.a.cfg.Clock.Now()
	if rp.Sandbox == nil || !rp.Sandbox.Ready || now.Sub(w.volumesAt) < w.a.cfg.Resync {
		return
	}
	w.volumesAt = now
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil {
			if _, err := setUpVolumes(ctx, w.a.dirs, w.a.src, pod, w.a.cfg.Info.InternalIP); err != nil && ctx.Err() == nil {
				w.a.log.Warn("refreshing volumes", "pod", describe(pod), "err", err)
			}
			return
		}
	}
}

// fallBackToLogs gives failed runs of containers with terminationMessagePolicy
// FallbackToLogsOnError and no termination message the tail of their log instead: the
// last 80 lines, at most 2048 bytes, as upstream.
func (w *worker) fallBackToLogs(pod *corev1.Pod, rp *RuntimePod) {
	for _, c := range rp.Containers {
		if !c.Exited() || c.ExitCode == 0 || c.Message != "" {
			continue
		}
		spec := findContainer(pod, c.Name)
		if spec == nil || spec.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
			continue
		}
		c.Message = logTail(filepath.Join(PodLogDir(w.a.cfg.PodLogDir, pod), ContainerLogPath(c.Name, c.Attempt)), 80, 2048)
	}
}

// logTail returns the text of the last lines of a CRI log file, cut to max bytes.
func logTail(path string, lines, max int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	var b strings.Builder
	for _, l := range all {
		// "TIME STREAM TAG text": keep the text.
		parts := strings.SplitN(l, " ", 4)
		if len(parts) == 4 {
			b.WriteString(parts[3])
			if parts[2] == "F" {
				b.WriteByte('\n')
			}
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// addFailedRuns puts the runs that failed to start among the runtime's containers, as
// the newest of their name, until the runtime holds a newer run.
func (w *worker) addFailedRuns(rp *RuntimePod) {
	for name, f := range w.failedRuns {
		if cur := rp.latest(name); cur != nil && cur.Attempt >= f.Attempt && cur.ID != f.ID {
			delete(w.failedRuns, name)
			continue
		}
		rp.Containers = append([]*ContainerState{f}, rp.Containers...)
	}
}

// keepRuns remembers the newest run of each of the pod's containers, as the runtime
// has it now, before they are removed with their sandbox.
func (w *worker) keepRuns(ctx context.Context) {
	snap, _, err := takeSnapshot(ctx, w.a.rt, w.a.dirs, w.uid)
	if err != nil || snap[w.uid] == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.removedRuns == nil {
		w.removedRuns = map[string]*ContainerState{}
	}
	for _, c := range snap[w.uid].Containers {
		if w.removedRuns[c.Name] == nil || w.removedRuns[c.Name].Attempt < c.Attempt {
			kept := *c
			w.removedRuns[c.Name] = &kept
		}
	}
}

// addRemovedRuns puts the runs kept from a removed sandbox behind the runtime's own
// runs of the same containers, while the runtime holds fewer than two of them (the
// current run and the one before, as pruneContainers keeps).
func (w *worker) addRemovedRuns(rp *RuntimePod) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, kept := range w.removedRuns {
		n := 0
		for _, c := range rp.Containers {
			if c.Name == name {
				n++
			}
		}
		if n >= 2 {
			delete(w.removedRuns, name)
			continue
		}
		rp.Containers = append(rp.Containers, kept)
	}
}

// isStartError reports an error of a container's process failing to start (a missing
// executable, say), as opposed to a failure of the runtime itself.
func isStartError(err error) bool {
	return errors.Is(err, runtime.ErrStartFailed)
}

// safeSync is sync that survives a panic: one pod's odd spec must not stop the agent
// (and the server it may run in). The pod is looked at again later.
func (w *worker) safeSync(ctx context.Context) (done bool, again time.Duration) {
	defer func() {
		if r := recover(); r != nil {
			w.a.log.Error("pod sync panicked", "uid", w.uid, "panic", r, "stack", string(debug.Stack()))
			done, again = false, 10*time.Second
		}
	}()
	return w.sync(ctx)
}

// sync does what the pod needs now. It reports whether the worker is done, and when to
// look again without a change.
func (w *worker) sync(ctx context.Context) (bool, time.Duration) {
	w.mu.Lock()
	pod, deleted := w.pod, w.deleted
	w.mu.Unlock()
	a := w.a
	snap, sandboxes, err := takeSnapshot(ctx, a.rt, a.dirs, w.uid)
	if err != nil {
		return false, time.Second
	}
	rp := snap[w.uid]
	if rp == nil {
		rp = &RuntimePod{}
	}
	w.addRemovedRuns(rp)
	w.addFailedRuns(rp)
	if deleted || pod == nil {
		// The API object is gone (or never seen: an orphan). Stop and remove all.
		a.probes.Stop(string(w.uid))
		if err := errors.Join(w.killPod(ctx, pod, rp, newDeadline(a.cfg.Clock, 0)), w.stillRunning(ctx)); err != nil {
			return false, w.killFailed(pod, err)
		}
		w.cleanUp(ctx, pod, sandboxes[w.uid])
		a.planner.Forget(orEmpty(pod))
		return true, 0
	}
	if pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod, rp, sandboxes[w.uid])
	}

	failure, deadlineIn := w.admit(pod), time.Duration(0)
	if failure == nil {
		failure, deadlineIn = w.activeDeadline(pod)
	}
	a.markUnstarted(pod, rp)
	plan := a.planner.Plan(pod, rp)
	if failure != nil {
		plan = Plan{KillPod: anyRunning(rp)}
	}
	w.resizePending = plan.ResizePending
	retry := w.execute(ctx, pod, rp, plan)
	a.planner.Executed(plan)
	if deadlineIn > 0 && (retry == 0 || deadlineIn < retry) {
		retry = deadlineIn
	}
	w.pruneContainers(ctx, pod, rp)
	if snap, _, err := takeSnapshot(ctx, a.rt, a.dirs, w.uid); err == nil && snap[w.uid] != nil {
		rp = snap[w.uid]
		w.addRemovedRuns(rp)
		w.addFailedRuns(rp)
	}
	waiting := map[string]Waiting{}
	for k, v := range w.waiting {
		waiting[k] = v
	}
	for k, v := range plan.Waiting {
		waiting[k] = v
		w.backOffEvent(pod, k, v)
	}
	w.fallBackToLogs(pod, rp)
	w.refreshVolumes(ctx, pod, rp)
	ready, started := a.syncProbes(ctx, pod, rp)
	w.reportStatus(ctx, pod, rp, waiting, ready, started, false, failure)
	if plan.Retry > 0 && (retry == 0 || plan.Retry < retry) {
		retry = plan.Retry
	}
	return false, retry
}

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

// admit refuses, as upstream's kubelet does, a pod that asks for sysctls outside the safe
// set: it fails with SysctlForbidden and never runs (the event once).
func (w *worker) admit(pod *corev1.Pod) *Waiting {
	const reason = "SysctlForbidden"
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == reason {
		return &Waiting{Reason: reason, Message: pod.Status.Message}
	}
	if pod.Spec.SecurityContext == nil || podTerminal(pod) {
		return nil
	}
	for _, s := range pod.Spec.SecurityContext.Sysctls {
		if name := strings.ReplaceAll(s.Name, "/", "."); !safeSysctls[name] {
			msg := fmt.Sprintf("forbidden sysctl: %q not allowlisted", s.Name)
			if w.reported["admit"] == (Waiting{}) {
				w.reported["admit"] = Waiting{Reason: reason}
				w.event(pod, "", corev1.EventTypeWarning, reason, msg)
			}
			return &Waiting{Reason: reason, Message: "Pod was rejected: " + msg}
		}
	}
	return nil
}

// safeSysctls are the sysctls any pod may set (upstream's safe set): they are
// namespaced, and cannot starve the node or other pods.
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.tcp_syncookies": true,
	"net.ipv4.ping_group_range": true, "net.ipv4.ip_unprivileged_port_start": true, "net.ipv4.ip_local_reserved_ports": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true, "net.ipv4.tcp_keepalive_intvl": true,
	"net.ipv4.tcp_keepalive_probes": true, "net.ipv4.tcp_rmem": true, "net.ipv4.tcp_wmem": true,
	"net.ipv4.tcp_slow_start_after_idle": true, "net.ipv4.tcp_notsent_lowat": true,
}

// activeDeadline says whether the pod has run past its activeDeadlineSeconds, counted
// from its start time, as upstream's kubelet does: then it is to be stopped and failed
// with DeadlineExceeded (the event once). Otherwise it returns how long is left, or 0
// without a deadline.
func (w *worker) activeDeadline(pod *corev1.Pod) (*Waiting, time.Duration) {
	const reason, message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == reason {
		return &Waiting{Reason: reason, Message: pod.Status.Message}, 0
	}
	if pod.Spec.ActiveDeadlineSeconds == nil || pod.Status.StartTime == nil || podTerminal(pod) {
		return nil, 0
	}
	left := pod.Status.StartTime.Add(time.Duration(*pod.Spec.ActiveDeadlineSeconds) * time.Second).Sub(w.a.cfg.Clock.Now())
	if left > 0 {
		return nil, left
	}
	if w.reported["deadline"] == (Waiting{}) {
		w.reported["deadline"] = Waiting{Reason: reason}
		w.event(pod, "", corev1.EventTypeNormal, reason, message)
	}
	return &Waiting{Reason: reason, Message: message}, 0
}

func orEmpty(pod *corev1.Pod) *corev1.Pod {
	if pod == nil {
		return &corev1.Pod{}
	}
	return pod
}

// resize applies new cgroup limits to running containers, with upstream's
// ResizeStarted and ResizeCompleted events (ResizeError when it fails). A failure is
// reported in the pod's PodResizeInProgress condition and tried again after the delay it
// returns.
func (w *worker) resize(ctx context.Context, pod *corev1.Pod, resizes []Resize) time.Duration {
	if len(resizes) == 0 {
		w.resizeErr = ""
		return 0
	}
	w.resizeEvent(pod, corev1.EventTypeNormal, "ResizeStarted", "Pod resize started", "")
	var errs []string
	for _, r := range resizes {
		if err := w.a.rt.UpdateContainerResources(ctx, r.Container.ID, r.Resources); err != nil {
			errs = append(errs, fmt.Sprintf("container %s: %v", r.Container.Name, err))
		}
	}
	w.resizeErr = strings.Join(errs, "; ")
	if len(errs) > 0 {
		w.resizeEvent(pod, corev1.EventTypeWarning, "ResizeError", "Pod resize error", w.resizeErr)
		return 5 * time.Second
	}
	w.resizeEvent(pod, corev1.EventTypeNormal, "ResizeCompleted", "Pod resize completed", "")
	return 0
}

// resizeEvent sends a resize event once per pod generation, with upstream's message: a
// prefix and the resources of the pod's containers as JSON.
func (w *worker) resizeEvent(pod *corev1.Pod, eventType, reason, prefix, errMsg string) {
	key := fmt.Sprintf("resize/%s/%d", reason, pod.Generation)
	if w.reported[key] != (Waiting{}) {
		return
	}
	w.reported[key] = Waiting{Reason: reason}
	type allocation struct {
		Name      string                      `json:"name"`
		Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	}
	summary := struct {
		InitContainers []allocation `json:"initContainers,omitempty"`
		Containers     []allocation `json:"containers,omitempty"`
		Generation     int64        `json:"generation"`
		Error          string       `json:"error,omitempty"`
	}{Generation: pod.Generation, Error: errMsg}
	for _, c := range pod.Spec.InitContainers {
		summary.InitContainers = append(summary.InitContainers, allocation{Name: c.Name, Resources: c.Resources})
	}
	for _, c := range pod.Spec.Containers {
		summary.Containers = append(summary.Containers, allocation{Name: c.Name, Resources: c.Resources})
	}
	msg := prefix
	if data, err := json.Marshal(summary); err == nil {
		msg += ": " + string(data)
	}
	w.event(pod, "", eventType, reason, msg)
}

// execute carries out a plan and returns how soon to look again (an image back-off).
func (w *worker) execute(ctx context.Context, pod *corev1.Pod, rp *RuntimePod, plan Plan) time.Duration {
	a := w.a
	if plan.KillPod {
		replaced := plan.CreateSandbox && rp.Sandbox != nil
		if replaced {
			w.event(pod, "", corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		}
		err := w.killPod(ctx, pod, rp, newDeadline(a.cfg.Clock, time.Duration(gracePeriod(pod))*time.Second))
		if err = errors.Join(err, w.stillRunning(ctx)); err != nil {
			return w.killFailed(pod, err) // no new sandbox while the old one's containers run
		}
		if replaced {
			w.keepRuns(ctx)
			for _, c := range rp.Containers {
				_ = a.rt.RemoveContainer(ctx, c.ID)
			}
			_ = a.rt.RemovePodSandbox(ctx, rp.Sandbox.ID)
		}
	}
	var killErrs []error
	for _, k := range plan.Kill {
		w.event(pod, k.Container.Name, corev1.EventTypeNormal, "Killing", k.Message)
		if err := a.rt.StopContainer(ctx, k.Container.ID, gracePeriod(pod)); err != nil {
			killErrs = append(killErrs, fmt.Errorf("stopping container %s: %w", k.Container.Name, err))
		}
	}
	if err := errors.Join(killErrs...); err != nil {
		return w.killFailed(pod, err) // no replacement while the old one may run
	}
	if plan.KillPod || len(plan.Kill) > 0 {
		w.killBackOff = 0
	}
	resizeRetry := w.resize(ctx, pod, plan.Resize)
	if p := plan.ResizePending; p != nil {
		w.resizeEvent(pod, corev1.EventTypeWarning, "Resize"+p.Reason, "Pod resize "+p.Reason, p.Message)
	}
	hostIP := a.cfg.Info.InternalIP
	sandboxID, podIP := "", ""
	if rp.Sandbox != nil && rp.Sandbox.Ready {
		sandboxID, podIP = rp.Sandbox.ID, sandboxIP(pod, rp.Sandbox, hostIP)
	}
	sbConfig := sandboxConfig(pod, plan.SandboxAttempt, a.cfg.PodLogDir)
	if rp.Sandbox != nil && !plan.CreateSandbox {
		sbConfig = sandboxConfig(pod, rp.Sandbox.Attempt, a.cfg.PodLogDir)
	}
	if plan.CreateSandbox {
		id, err := a.rt.RunPodSandbox(ctx, sbConfig)
		if err != nil {
			a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return 5 * time.Second
		}
		sandboxID = id
		if snap, _, err := takeSnapshot(ctx, a.rt, a.dirs, pod.UID); err == nil && snap[pod.UID] != nil && snap[pod.UID].Sandbox != nil {
			podIP = sandboxIP(pod, snap[pod.UID].Sandbox, hostIP)
		}
	}
	if len(plan.Start) == 0 {
		return resizeRetry
	}
	// The downward API gives containers the sandbox's IP as the pod's, even before a
	// status saying so is written.
	if podIP != "" && pod.Status.PodIP != podIP {
		pod = pod.DeepCopy()
		pod.Status.PodIP, pod.Status.PodIPs = podIP, []corev1.PodIP{{IP: podIP}}
	}
	volumes, err := setUpVolumes(ctx, a.dirs, a.src, pod, hostIP)
	if err == nil {
		err = writeHostsFile(a.dirs.hostsFile(string(pod.UID)), pod, podIP)
	}
	if err != nil {
		for _, s := range plan.Start {
			w.failStart(pod, s.Spec.Name, "CreateContainerConfigError", err)
		}
		return 5 * time.Second
	}
	retry := resizeRetry
	for _, s := range plan.Start {
		if again, ok := w.startContainer(ctx, pod, sandboxID, sbConfig, s, volumes, hostIP); !ok {
			if again > 0 && (retry == 0 || again < retry) {
				retry = again
			}
			if s.Init {
				break // the next init container waits for this one
			}
		}
	}
	return retry
}

// pruneContainers removes the exited runs of each container but the newest two (the
// current one and the one --previous shows), with their logs, as upstream's container
// garbage collection keeps them.
func (w *worker) pruneContainers(ctx context.Context, pod *corev1.Pod, rp *RuntimePod) {
	seen := map[string]int{}
	for _, c := range rp.Containers { // newest first for each name
		seen[c.Name]++
		if seen[c.Name] <= 2 || c.Running() {
			continue
		}
		if err := w.a.rt.RemoveContainer(ctx, c.ID); err != nil {
			continue
		}
		_ = os.Remove(filepath.Join(PodLogDir(w.a.cfg.PodLogDir, pod), ContainerLogPath(c.Name, c.Attempt)))
	}
}

// failStart records why a container could not start: an event and its waiting reason.
func (w *worker) failStart(pod *corev1.Pod, name, reason string, err error) {
	msg := err.Error()
	w.event(pod, name, corev1.EventTypeWarning, "Failed", "Error: "+msg)
	w.waiting[name] = Waiting{Reason: reason, Message: msg}
}

// startContainer pulls the image, creates and starts one container, and runs its
// postStart hook. It reports false, with when to retry, if the container did not start.
func (w *worker) startContainer(ctx context.Context, pod *corev1.Pod, sandboxID string, sb *runtimeapi.PodSandboxConfig, s Start, volumes map[string]string, hostIP string) (time.Duration, bool) {
	a := w.a
	c := s.Spec
	if again, ok := w.ensureImage(ctx, pod, c); !ok {
		return again, false
	}
	env, err := containerEnv(ctx, a.src, pod, c, hostIP)
	if err != nil {
		w.failStart(pod, c.Name, "CreateContainerConfigError", err)
		return 5 * time.Second, false
	}
	images := imageVolumes(pod)
	for _, vm := range c.VolumeMounts {
		if img, ok := images[vm.Name]; ok {
			if again, ok := w.ensureImage(ctx, pod, &corev1.Container{Name: c.Name, Image: img.Reference, ImagePullPolicy: img.PullPolicy}); !ok {
				return again, false
			}
		}
	}
	uid := string(pod.UID)
	mounts, err := containerMounts(c, volumes, images, envMap(env), mountPaths{
		hostsFile: a.dirs.hostsFile(uid), terminationLog: a.dirs.terminationLog(uid, c.Name, s.Attempt), subPaths: a.dirs.subPaths(uid)})
	if err != nil {
		w.failStart(pod, c.Name, "CreateContainerConfigError", err)
		return 5 * time.Second, false
	}
	cfg, err := containerConfig(pod, c, s, env, mounts)
	if err == nil {
		mem := a.src.allocatable[corev1.ResourceMemory]
		cfg.Linux.Resources.OomScoreAdj = oomScoreAdj(pod, c, mem.Value())
	}
	if err == nil {
		err = w.shareTargetPID(ctx, pod, c.Name, cfg)
	}
	if err != nil {
		w.failStart(pod, c.Name, "CreateContainerConfigError", err)
		return 5 * time.Second, false
	}
	id, err := a.rt.CreateContainer(ctx, sandboxID, cfg, sb)
	if err != nil && !isStartError(err) {
		w.failStart(pod, c.Name, "CreateContainerError", err)
		return 5 * time.Second, false
	}
	if err == nil {
		w.event(pod, c.Name, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
		err = a.rt.StartContainer(ctx, id)
	}
	if err != nil {
		// The container's process could not start (runc runs it at create): a run that
		// ended at once with StartError and exit code 128, as upstream reports it; it
		// restarts with the back-off like any failed run.
		w.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		now := a.cfg.Clock.Now()
		w.failedRuns[c.Name] = &ContainerState{ID: "start-error-" + c.Name, Name: c.Name, Attempt: s.Attempt, Init: s.Init,
			Hash: HashContainer(c), State: runtimeapi.ContainerState_CONTAINER_EXITED, ExitCode: 128, Reason: "StartError",
			Message: err.Error(), Started: now, Finished: now, Image: c.Image}
		delete(w.waiting, c.Name)
		return 0, false
	}
	delete(w.waiting, c.Name)
	w.event(pod, c.Name, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if msg, err := w.runHook(ctx, pod, id, c, c.Lifecycle.PostStart); err != nil {
			w.event(pod, c.Name, corev1.EventTypeWarning, "FailedPostStartHook", msg)
			w.event(pod, c.Name, corev1.EventTypeNormal, "Killing", "FailedPostStartHook")
			_ = a.rt.StopContainer(ctx, id, gracePeriod(pod))
		}
	}
	return 0, true
}

// shareTargetPID puts an ephemeral container that names a target container into the
// target's PID namespace, as `kubectl debug --target` expects.
func (w *worker) shareTargetPID(ctx context.Context, pod *corev1.Pod, name string, cfg *runtimeapi.ContainerConfig) error {
	target := ""
	for _, ec := range pod.Spec.EphemeralContainers {
		if ec.Name == name {
			target = ec.TargetContainerName
		}
	}
	if target == "" {
		return nil
	}
	snap, _, err := takeSnapshot(ctx, w.a.rt, w.a.dirs, pod.UID)
	if err != nil {
		return err
	}
	var cur *ContainerState
	if rp := snap[pod.UID]; rp != nil {
		cur = rp.latest(target)
	}
	if cur == nil || !cur.Running() {
		return &configError{msg: fmt.Sprintf("target container %q is not running", target)}
	}
	cfg.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: cur.ID}
	return nil
}

// ensureImage makes sure a container's image is present as its pull policy says, with
// upstream's events, and a back-off after failed pulls.
func (w *worker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (time.Duration, bool) {
	a := w.a
	spec := &runtimeapi.ImageSpec{Image: c.Image}
	present, _ := a.images.ImageStatus(ctx, spec)
	policy := c.ImagePullPolicy
	if policy == corev1.PullIfNotPresent && present != nil {
		w.event(pod, c.Name, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
		return 0, true
	}
	if policy == corev1.PullNever {
		if present != nil {
			w.event(pod, c.Name, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
			return 0, true
		}
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		w.event(pod, c.Name, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		w.waiting[c.Name] = Waiting{Reason: "ErrImageNeverPull", Message: msg}
		return 10 * time.Second, false
	}
	key := string(pod.UID) + "/" + c.Image
	if a.imageBackOff.IsInBackOffSinceUpdate(key, a.cfg.Clock.Now()) {
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		w.event(pod, c.Name, corev1.EventTypeNormal, "BackOff", msg)
		w.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
		w.waiting[c.Name] = Waiting{Reason: "ImagePullBackOff", Message: msg}
		return a.imageBackOff.Get(key), false
	}
	w.event(pod, c.Name, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	start := a.cfg.Clock.Now()
	auth := w.pullAuth(ctx, pod, c.Image)
	_, err := a.images.PullImage(ctx, spec, auth)
	if err != nil {
		a.imageBackOff.Next(key, a.cfg.Clock.Now())
		w.event(pod, c.Name, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.Image, err))
		w.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		w.waiting[c.Name] = Waiting{Reason: "ErrImagePull", Message: err.Error()}
		return a.imageBackOff.Get(key), false
	}
	a.imageBackOff.Reset(key)
	took := a.cfg.Clock.Since(start).Round(time.Millisecond)
	var size uint64
	if img, err := a.images.ImageStatus(ctx, spec); err == nil && img != nil {
		size = img.Size
	}
	w.event(pod, c.Name, corev1.EventTypeNormal, "Pulled",
		fmt.Sprintf("Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.", c.Image, took, took, size))
	return 0, true
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

// cleanUp removes every container and sandbox of the pod and its files on the host.
func (w *worker) cleanUp(ctx context.Context, pod *corev1.Pod, sandboxes []string) {
	a := w.a
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

// runHook runs a lifecycle hook: exec in the container, or an HTTP GET to the pod.
func (w *worker) runHook(ctx context.Context, pod *corev1.Pod, containerID string, c *corev1.Container, h *corev1.LifecycleHandler) (string, error) {
	switch {
	case h.Exec != nil:
		out, errOut, code, err := w.a.rt.ExecSync(ctx, containerID, h.Exec.Command, 0)
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v", h.Exec.Command, c.Name, pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", err), err
		}
		if code != 0 {
			err := fmt.Errorf("command '%v' exited with %d: %s", h.Exec.Command, code, string(append(out, errOut...)))
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, c.Name, pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", err, string(out)), err
		}
		return "", nil
	case h.HTTPGet != nil:
		host := h.HTTPGet.Host
		if host == "" {
			host = pod.Status.PodIP
			if snap, _, err := takeSnapshot(ctx, w.a.rt, w.a.dirs, pod.UID); err == nil && snap[pod.UID] != nil && snap[pod.UID].Sandbox != nil {
				host = sandboxIP(pod, snap[pod.UID].Sandbox, w.a.cfg.Info.InternalIP)
			}
		}
		if err := w.httpHook(ctx, pod, c, h.HTTPGet, host); err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, c.Name, pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", err), err
		}
		return "", nil
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-w.a.cfg.Clock.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
		return "", nil
	}
	return "", nil
}

// hookClient makes the requests of httpGet hooks. As upstream's, it checks no
// certificate (there is nothing to check it against) and so must never carry
// credentials; it follows redirects on the same host only.
var hookClient = &http.Client{
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil},
	CheckRedirect: prober.NewHTTPClient().CheckRedirect,
}

// httpHook sends an httpGet hook's request. As upstream, only an error of the request
// fails the hook, whatever the status code; an HTTPS request answered in plain HTTP is
// sent again over HTTP, with a LifecycleHTTPFallback event.
func (w *worker) httpHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, g *corev1.HTTPGetAction, host string) error {
	req, err := prober.NewRequest(ctx, g, c, host, "lifecycle")
	if err != nil {
		return err
	}
	resp, err := hookClient.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil
	}
	if req.URL.Scheme != "https" || !strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return err
	}
	plain := req.Clone(ctx)
	plain.URL.Scheme = "http"
	plain.Header.Del("Authorization")
	resp, httpErr := hookClient.Do(plain)
	if httpErr != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	w.event(pod, "", corev1.EventTypeWarning, "LifecycleHTTPFallback",
		fmt.Sprintf("request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", plain.URL.Host))
	return nil
}

// event records an event about a pod's container (or the pod when name is "").
func (w *worker) event(pod *corev1.Pod, container, typ, reason, msg string) {
	ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	if container != "" {
		ref.FieldPath = fieldPath(pod, container)
	}
	w.a.recorder.Event(ref, typ, reason, msg)
}

func fieldPath(pod *corev1.Pod, name string) string {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return fmt.Sprintf("spec.initContainers{%s}", name)
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return fmt.Sprintf("spec.ephemeralContainers{%s}", name)
		}
	}
	return fmt.Sprintf("spec.containers{%s}", name)
}

// backOffEvent reports a container in CrashLoopBackOff, once per back-off.
func (w *worker) backOffEvent(pod *corev1.Pod, name string, wt Waiting) {
	if wt.Reason != "CrashLoopBackOff" || w.reported["backoff/"+name] == wt {
		return
	}
	w.reported["backoff/"+name] = wt
	w.event(pod, name, corev1.EventTypeWarning, "BackOff",
		fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)", name, pod.Name, pod.Namespace, pod.UID))
}

// reportStatus writes the pod's status when it changed.
// terminal says the pod was deleted and every container has stopped; failure, when
// set, is why the agent failed the pod.
func (w *worker) reportStatus(ctx context.Context, pod *corev1.Pod, rp *RuntimePod, waiting map[string]Waiting, ready, started map[string]bool, terminal bool, failure *Waiting) {
	st := ComputeStatus(StatusInput{Pod: pod, RP: rp, Waiting: waiting, Ready: ready, Started: started,
		HostIP: w.a.cfg.Info.InternalIP, Now: w.a.cfg.Clock.Now(), Terminal: terminal, Failure: failure,
		ResizeError: w.resizeErr, ResizePending: w.resizePending})
	if equality.Semantic.DeepEqual(st, pod.Status) {
		return
	}
	next := pod.DeepCopy()
	next.Status = st
	updated, err := w.a.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	switch {
	case err == nil:
		w.mu.Lock()
		if w.pod != nil && w.pod.ResourceVersion == pod.ResourceVersion {
			w.pod = updated
		}
		w.mu.Unlock()
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		// A newer pod is on its way through the informer.
	default:
		if ctx.Err() == nil {
			w.a.log.Warn("reporting pod status", "pod", describe(pod), "err", err)
		}
	}
}

// pullAuth finds credentials for an image in the pod's imagePullSecrets.
func (w *worker) pullAuth(ctx context.Context, pod *corev1.Pod, image string) *runtimeapi.AuthConfig {
	for _, ref := range pod.Spec.ImagePullSecrets {
		sec, err := w.a.src.secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			continue
		}
		if auth := dockerAuth(sec, image); auth != nil {
			return auth
		}
	}
	return nil
}
