package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ephemeralvolume "k8s.io/component-helpers/storage/ephemeral"
)

// Volumes backed by PersistentVolumeClaims (and generic ephemeral volumes, whose claim
// the ephemeral volume controller makes for the pod): the claim must be bound, and its
// volume a hostPath or local one, mounted where it is on this node.

// mountError is a volume that cannot be mounted yet: the pod waits in
// ContainerCreating, and the agent says why with a FailedMount event.
type mountError struct {
	volumes []string
	err     error
}

func (e *mountError) Error() string {
	return fmt.Sprintf("Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[], failed to process volumes=[%s]: %v",
		strings.Join(e.volumes, " "), strings.Join(e.volumes, " "), e.err)
}

func (e *mountError) Unwrap() error { return e.err }

// claimName returns the claim a pod's volume uses, "" for other volumes.
func claimName(pod *corev1.Pod, v *corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return ephemeralvolume.VolumeClaimName(pod, v)
	}
	return ""
}

// claimPath returns the host path of the volume bound to a pod's claim, made ready
// for the pod (a local volume's directory given to its fsGroup).
func claimPath(ctx context.Context, src objectSource, pod *corev1.Pod, v *corev1.Volume, name string, fsGroup *int64) (string, error) {
	fail := func(err error) (string, error) { return "", &mountError{volumes: []string{v.Name}, err: err} }
	claim, err := src.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fail(fmt.Errorf("error processing PVC %s/%s: %w", pod.Namespace, name, err))
	}
	if v.Ephemeral != nil {
		if err := ephemeralvolume.VolumeIsForPod(pod, claim); err != nil {
			return fail(fmt.Errorf("error processing PVC %s/%s: %w", pod.Namespace, name, err))
		}
	}
	if claim.DeletionTimestamp != nil {
		return fail(fmt.Errorf("error processing PVC %s/%s: can't start pod because PVC %s/%s is being deleted", pod.Namespace, name, pod.Namespace, name))
	}
	if claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
		return fail(fmt.Errorf("error processing PVC %s/%s: PVC %s/%s has non-bound phase (%q) or empty pvc.Spec.VolumeName (%q)",
			pod.Namespace, name, pod.Namespace, name, claim.Status.Phase, claim.Spec.VolumeName))
	}
	pv, err := src.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return fail(fmt.Errorf("error processing PVC %s/%s: failed to fetch PV %q from API server: %w", pod.Namespace, name, claim.Spec.VolumeName, err))
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != claim.UID {
		return fail(fmt.Errorf("error processing PVC %s/%s: found PV object %q but it is not bound to the claim", pod.Namespace, name, pv.Name))
	}
	switch {
	case pv.Spec.HostPath != nil:
		if err := hostPathCheck(pv.Spec.HostPath); err != nil {
			return fail(fmt.Errorf("MountVolume.SetUp failed for volume %q: %w", pv.Name, err))
		}
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local != nil:
		path := pv.Spec.Local.Path
		fi, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("path %q does not exist", path)
			}
			return fail(fmt.Errorf("MountVolume.NewMounter initialization failed for volume %q: %w", pv.Name, err))
		}
		if !fi.IsDir() {
			return fail(fmt.Errorf("MountVolume.SetUp failed for volume %q: %s is not a directory", pv.Name, path))
		}
		if fsGroup != nil {
			if err := rootOwnership(path, *fsGroup); err != nil {
				return fail(fmt.Errorf("MountVolume.SetUp failed for volume %q: %w", pv.Name, err))
			}
		}
		return path, nil
	}
	return fail(fmt.Errorf("MountVolume.SetUp failed for volume %q: podium mounts hostPath and local volumes only", pv.Name))
}

// rootOwnership gives a local volume's directory to the pod's fsGroup, with the group's
// write bit and setgid so that what the pod makes there is the group's, when it is not
// the group's already. Unlike for an emptyDir, what lies below is not walked: its
// files are the containers' to make, and a walk could be led through a link a
// container swaps in meanwhile.
func rootOwnership(dir string, gid int64) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	want := fi.Mode().Perm() | 0o070 | fs.ModeSetgid
	if ok && int64(st.Gid) == gid && fi.Mode()&(fs.ModePerm|fs.ModeSetgid) == want {
		return nil
	}
	if err := os.Lchown(dir, -1, int(gid)); err != nil {
		return err
	}
	return os.Chmod(dir, want)
}

// readOnlyClaims returns c with the mounts of the pod's read-only claims read-only.
func readOnlyClaims(pod *corev1.Pod, c *corev1.Container) *corev1.Container {
	var out *corev1.Container
	for i, vm := range c.VolumeMounts {
		if vm.ReadOnly {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name == vm.Name && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly {
				if out == nil {
					out = c.DeepCopy()
				}
				out.VolumeMounts[i].ReadOnly = true
			}
		}
	}
	if out == nil {
		return c
	}
	return out
}
