package agent

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Images of a pod's containers: pulled as their pull policy says, with the pod's
// pull secrets, and the image back-off.

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
