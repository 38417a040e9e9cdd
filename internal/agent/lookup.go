package agent

import (
	"context"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/agent/stream"
	"github.com/podium/podium/internal/runtime"
)

// Lookup finds pods' containers, in rt, for the agent's streaming endpoint.
func (a *Agent) Lookup(rt runtime.Runtime) stream.Lookup { return lookup{a: a, rt: rt} }

type lookup struct {
	a  *Agent
	rt runtime.Runtime
}

var _ stream.Lookup = lookup{}

// pod returns the pod the agent runs with that namespace and name.
func (l lookup) pod(namespace, name string) *corev1.Pod {
	l.a.mu.Lock()
	defer l.a.mu.Unlock()
	for _, w := range l.a.workers {
		w.mu.Lock()
		p := w.pod
		w.mu.Unlock()
		if p != nil && p.Namespace == namespace && p.Name == name {
			return p
		}
	}
	return nil
}

// Container implements stream.Lookup.
func (l lookup) Container(namespace, podName, container string, previous bool) (stream.Container, error) {
	pod := l.pod(namespace, podName)
	if pod == nil {
		return stream.Container{}, stream.PodNotFound(podName)
	}
	if findContainer(pod, container) == nil {
		return stream.Container{}, stream.ContainerNotFound(podName, container)
	}
	snap, _, err := takeSnapshot(context.Background(), l.rt, l.a.dirs, pod.UID)
	if err != nil {
		return stream.Container{}, err
	}
	rp := snap[pod.UID]
	if rp == nil {
		rp = &RuntimePod{}
	}
	l.a.mu.Lock()
	w := l.a.workers[pod.UID]
	l.a.mu.Unlock()
	if w != nil {
		w.addRemovedRuns(rp)
	}
	c := rp.latest(container)
	if previous {
		c = rp.previous(container)
		if c == nil {
			return stream.Container{}, fmt.Errorf("previous terminated container %q in pod %q not found", container, podName)
		}
	}
	if c == nil {
		return stream.Container{}, fmt.Errorf("container %q in pod %q is waiting to start: ContainerCreating", container, podName)
	}
	return stream.Container{ID: c.ID, Running: c.Running(),
		LogPath: filepath.Join(PodLogDir(l.a.cfg.PodLogDir, pod), ContainerLogPath(c.Name, c.Attempt))}, nil
}

// Sandbox implements stream.Lookup.
func (l lookup) Sandbox(namespace, podName string) (string, error) {
	pod := l.pod(namespace, podName)
	if pod == nil {
		return "", stream.PodNotFound(podName)
	}
	snap, _, err := takeSnapshot(context.Background(), l.rt, l.a.dirs, pod.UID)
	if err != nil {
		return "", err
	}
	if rp := snap[pod.UID]; rp != nil && rp.Sandbox != nil && rp.Sandbox.Ready {
		return rp.Sandbox.ID, nil
	}
	return "", fmt.Errorf("pod %q has no running sandbox", podName)
}

// Pods returns the pods the agent works on, as it last saw them, for the kubelet's
// /pods endpoint.
func (a *Agent) Pods() []*corev1.Pod {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(a.workers))
	for _, w := range a.workers {
		w.mu.Lock()
		if w.pod != nil {
			out = append(out, w.pod)
		}
		w.mu.Unlock()
	}
	return out
}

// NodeName returns the name of the agent's node.
func (a *Agent) NodeName() string { return a.cfg.NodeName }
