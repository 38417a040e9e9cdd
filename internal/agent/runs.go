package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Runs of a pod's containers that the runtime no longer shows as they were: runs that
// failed to start, runs removed with a dead sandbox, and old runs pruned.

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
