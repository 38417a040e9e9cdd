package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
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

	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/scheduler/plugins/nodeports"
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

	failure, deadlineIn := w.admit(pod, rp), time.Duration(0)
	if failure == nil {
		failure, deadlineIn = w.activeDeadline(pod)
	}
	if failure == nil {
		var measureIn time.Duration
		failure, measureIn = w.localStorage(ctx, pod, rp)
		if measureIn > 0 && (deadlineIn == 0 || measureIn < deadlineIn) {
			deadlineIn = measureIn
		}
	}
	a.markUnstarted(pod, rp)
	plan := a.planner.Plan(pod, rp)
	if failure != nil {
		plan = Plan{KillPod: anyRunning(rp), KillNow: failure.Reason == evictedReason}
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
	if (failure != nil || podTerminal(pod)) && !anyRunning(rp) {
		a.ports.release(w.uid)
	}
	if plan.Retry > 0 && (retry == 0 || plan.Retry < retry) {
		retry = plan.Retry
	}
	return false, retry
}

// admit refuses, as upstream's kubelet does, a pod that asks for sysctls outside the safe
// set (SysctlForbidden) or for host ports another pod on the node holds (NodePorts): it
// fails and never runs (the event once). rp is what the runtime holds of the pod: a pod
// that has a sandbox was admitted before.
func (w *worker) admit(pod *corev1.Pod, rp *RuntimePod) *Waiting {
	if pod.Status.Phase == corev1.PodFailed && strings.HasPrefix(pod.Status.Message, rejectedPrefix) {
		return &Waiting{Reason: pod.Status.Reason, Message: pod.Status.Message}
	}
	if podTerminal(pod) {
		return nil
	}
	if pod.Spec.SecurityContext != nil {
		for _, s := range pod.Spec.SecurityContext.Sysctls {
			if name := strings.ReplaceAll(s.Name, "/", "."); !safeSysctls[name] {
				return w.reject(pod, "SysctlForbidden", fmt.Sprintf("forbidden sysctl: %q not allowlisted", s.Name))
			}
		}
	}
	if !w.a.ports.admit(pod, rp.Sandbox != nil) {
		return w.reject(pod, nodeports.Name, fmt.Sprintf("Predicate %s failed: %s", nodeports.Name, nodeports.Reason))
	}
	return nil
}

// reject fails pod with reason, and sends the event once.
func (w *worker) reject(pod *corev1.Pod, reason, msg string) *Waiting {
	if w.reported["admit"] == (Waiting{}) {
		w.reported["admit"] = Waiting{Reason: reason}
		w.event(pod, "", corev1.EventTypeWarning, reason, msg)
	}
	return &Waiting{Reason: reason, Message: rejectedPrefix + msg}
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

// execute carries out a plan and returns how soon to look again (an image back-off).
func (w *worker) execute(ctx context.Context, pod *corev1.Pod, rp *RuntimePod, plan Plan) time.Duration {
	a := w.a
	if plan.KillPod {
		replaced := plan.CreateSandbox && rp.Sandbox != nil
		if replaced {
			w.event(pod, "", corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		}
		grace := time.Duration(gracePeriod(pod)) * time.Second
		if plan.KillNow {
			grace = 0
		}
		err := w.killPod(ctx, pod, rp, newDeadline(a.cfg.Clock, grace))
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
		sbConfig.DnsConfig = w.dnsConfig(pod)
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
	var unmounted *mountError
	if errors.As(err, &unmounted) {
		// The containers wait in ContainerCreating, as the kubelet's do until their
		// volumes are mounted.
		w.event(pod, "", corev1.EventTypeWarning, "FailedMount", unmounted.Error())
		return 2 * time.Second
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
	mounts, err := containerMounts(readOnlyClaims(pod, c), volumes, images, envMap(env), mountPaths{
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
		// The container's process could not start (runc refused to run it; the runtime
		// has removed it): a run that ended at once with StartError and exit code 128,
		// as upstream reports it; it restarts with the back-off like any failed run.
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

// dnsConfig returns the pod's resolver configuration (podDNS); a pod that asks for the
// cluster DNS on a node without one gets the host's, with upstream's event once.
func (w *worker) dnsConfig(pod *corev1.Pod) *runtimeapi.DNSConfig {
	path := w.a.cfg.ResolvConf
	if path == "" {
		path = "/etc/resolv.conf"
	}
	host, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		w.a.log.Warn("reading the host's resolver configuration", "path", path, "err", err)
	}
	dns, ok := podDNS(pod, w.a.cfg.DNS, host)
	if !ok && w.reported["dns"] == (Waiting{}) {
		w.reported["dns"] = Waiting{Reason: "MissingClusterDNS"}
		w.event(pod, "", corev1.EventTypeWarning, "MissingClusterDNS", fmt.Sprintf(
			"pod: %q. kubelet does not have ClusterDNS IP configured and cannot create Pod using %q policy. Falling back to %q policy.",
			fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID), corev1.DNSClusterFirst, corev1.DNSDefault))
	}
	return dns
}
