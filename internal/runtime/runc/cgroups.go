package runc

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupHierarchies returns the mount points of the cgroup hierarchies, v1 and v2,
// and the v1 controllers that are mounted.
func cgroupHierarchies() (points []string, controllers map[string]bool, err error) {
	ms, err := readMountinfo()
	if err != nil {
		return nil, nil, err
	}
	controllers = map[string]bool{}
	for _, m := range ms {
		switch m.FSType {
		case "cgroup":
			points = append(points, m.Point)
			for _, o := range m.SuperOpts {
				controllers[o] = true
			}
		case "cgroup2":
			points = append(points, m.Point)
		}
	}
	return points, controllers, nil
}

// removeCgroup removes the cgroup directory path (absolute in the hierarchy) from
// every hierarchy. A missing directory is fine; one that still has processes or
// children is an error unless ifEmpty, when it is left alone.
func removeCgroup(hierarchies []string, path string, ifEmpty bool) error {
	if path == "" || path == "/" {
		return nil
	}
	var errs []error
	for _, h := range hierarchies {
		dir := filepath.Join(h, path)
		err := unix.Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
		case ifEmpty && (errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY)):
		default:
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// podCgroupName is the directory of a pod under the cgroup parent: "pod" and its UID,
// as the kubelet names it.
func podCgroupName(uid, sandboxID string) string {
	if uid == "" {
		uid = sandboxID
	}
	uid = strings.Map(func(r rune) rune {
		if r == '/' || r == '.' {
			return '_'
		}
		return r
	}, uid)
	return "pod" + uid
}

// CgroupParent returns the cgroup under which pods get theirs.
func (r *Runtime) CgroupParent() string { return r.cfg.CgroupParent }

// PodCgroup returns the cgroup of a sandbox's pod, absolute in every hierarchy.
func (r *Runtime) PodCgroup(sandboxID string) (string, error) {
	sb, err := r.getSandbox(sandboxID)
	if err != nil {
		return "", err
	}
	return sb.snapshot().CgroupParent, nil
}

// ContainerCgroup returns a container's cgroup, absolute in every hierarchy.
func (r *Runtime) ContainerCgroup(containerID string) (string, error) {
	c, _, err := r.getContainer(containerID)
	if err != nil {
		return "", err
	}
	return c.meta.CgroupsPath, nil
}
