package agent

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Events the agent records about pods, with upstream's reasons and field paths.

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
