package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/podium/podium/internal/diskusage"
)

// evictionInterval is how often the local storage of a pod with limits on it is
// measured: the kubelet's eviction manager's interval.
const evictionInterval = 10 * time.Second

// evictedReason is the status reason of a pod the node evicted.
const evictedReason = "Evicted"

// localStorage evicts, as the kubelet's eviction manager does, a running pod that uses
// more local ephemeral storage than it may: an emptyDir volume past its sizeLimit, the
// pod's containers (what they wrote to their root file systems, their logs) and
// emptyDir volumes past the sum of the containers' ephemeral-storage limits, or a
// container past its own limit. The pod is then to be killed at once and failed with
// reason Evicted (the Warning event once). Otherwise it returns how soon to measure
// again, or 0 when the pod has no such limit.
func (w *worker) localStorage(ctx context.Context, pod *corev1.Pod, rp *RuntimePod) (*Waiting, time.Duration) {
	if pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == evictedReason {
		return &Waiting{Reason: evictedReason, Message: pod.Status.Message}, 0
	}
	if podTerminal(pod) || !hasStorageLimits(pod) {
		return nil, 0
	}
	if !anyRunning(rp) {
		return nil, evictionInterval
	}
	msg := w.storageExceeded(ctx, pod, rp)
	if msg == "" {
		return nil, evictionInterval
	}
	if w.reported["evicted"] == (Waiting{}) {
		w.reported["evicted"] = Waiting{Reason: evictedReason}
		w.event(pod, "", corev1.EventTypeWarning, evictedReason, msg)
	}
	return &Waiting{Reason: evictedReason, Message: msg}, 0
}

// hasStorageLimits says whether a pod limits its local ephemeral storage anywhere.
func hasStorageLimits(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil && v.EmptyDir.SizeLimit.Sign() > 0 {
			return true
		}
	}
	_, ok := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})[corev1.ResourceEphemeralStorage]
	return ok
}

// storageExceeded returns upstream's eviction message for the first limit the pod is
// past, in upstream's order (emptyDir volumes, the pod, its containers), or "".
func (w *worker) storageExceeded(ctx context.Context, pod *corev1.Pod, rp *RuntimePod) string {
	total := int64(0)
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium == corev1.StorageMediumMemory {
			continue // a tmpfs: its size limit is the kernel's to keep
		}
		used, err := diskusage.Of(w.a.dirs.volume(string(pod.UID), volumePlugin(&v), v.Name))
		if err != nil {
			continue
		}
		total += used
		if limit := v.EmptyDir.SizeLimit; limit != nil && limit.Sign() > 0 && used > limit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, limit.String())
		}
	}
	containers := map[string]int64{} // by name: writable layer and logs
	for _, c := range rp.Containers {
		if _, seen := containers[c.Name]; seen {
			continue // an older attempt; its rootfs is gone or going
		}
		used, _ := diskusage.Of(filepath.Join(PodLogDir(w.a.cfg.PodLogDir, pod), c.Name))
		if st, err := w.a.rt.ContainerStats(ctx, c.ID); err == nil && st.GetWritableLayer().GetUsedBytes() != nil {
			used += int64(st.GetWritableLayer().GetUsedBytes().GetValue())
		}
		containers[c.Name] = used
		total += used
	}
	if limit, ok := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})[corev1.ResourceEphemeralStorage]; ok && total > limit.Value() {
		return fmt.Sprintf("Pod ephemeral local storage usage exceeds the total limit of containers %s. ", limit.String())
	}
	limited := slices.Clone(pod.Spec.Containers)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			limited = append(limited, c) // sidecars run beside the others
		}
	}
	for _, c := range limited {
		limit, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]
		if ok && !limit.IsZero() && containers[c.Name] > limit.Value() {
			return fmt.Sprintf("Container %s exceeded its local ephemeral storage limit %q. ", c.Name, limit.String())
		}
	}
	return ""
}
