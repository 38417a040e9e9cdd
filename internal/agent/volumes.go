package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podDirs lays out a pod's files on the host under root/pods/<uid>:
// volumes/<plugin>/<name> and containers/<name>/<attempt>/termination-log.
type podDirs struct {
	root string
}

func (d podDirs) pod(uid string) string { return filepath.Join(d.root, "pods", uid) }

func (d podDirs) volume(uid, plugin, name string) string {
	return filepath.Join(d.pod(uid), "volumes", plugin, name)
}

// mountPaths are the host files and directories of one container's start: its hosts
// file, its termination-log file, and the directory its subPath mounts are pinned in.
type mountPaths struct {
	hostsFile, terminationLog, subPaths string
}

// subPaths is where the bind mounts of a pod's subPaths live, one a volumeMount:
// <volume>/<container>/<index of the mount> below it, as upstream lays them out.
func (d podDirs) subPaths(uid string) string {
	return filepath.Join(d.pod(uid), "volume-subpaths")
}

func (d podDirs) terminationLog(uid, container string, attempt uint32) string {
	return filepath.Join(d.pod(uid), "containers", container, fmt.Sprint(attempt), "termination-log")
}

// volumePlugin names the directory a volume kind lives in, as upstream's.
func volumePlugin(v *corev1.Volume) string {
	switch {
	case v.EmptyDir != nil:
		return "kubernetes.io~empty-dir"
	case v.ConfigMap != nil:
		return "kubernetes.io~configmap"
	case v.Secret != nil:
		return "kubernetes.io~secret"
	case v.DownwardAPI != nil:
		return "kubernetes.io~downward-api"
	case v.Projected != nil:
		return "kubernetes.io~projected"
	}
	return "unsupported"
}

// setUpVolumes makes every volume of a pod on the host and returns the host path of
// each by volume name. It is idempotent: a second call refreshes file contents.
func setUpVolumes(ctx context.Context, dirs podDirs, src objectSource, pod *corev1.Pod, hostIP string) (map[string]string, error) {
	paths := map[string]string{}
	uid := string(pod.UID)
	var fsGroup *int64
	if pod.Spec.SecurityContext != nil {
		fsGroup = pod.Spec.SecurityContext.FSGroup
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.Image != nil {
			continue // the runtime mounts the image itself (see imageVolumes)
		}
		if v.HostPath != nil {
			if err := hostPathCheck(v.HostPath); err != nil {
				return nil, err
			}
			paths[v.Name] = v.HostPath.Path
			continue
		}
		if name := claimName(pod, v); name != "" {
			path, err := claimPath(ctx, src, pod, v, name, fsGroup)
			if err != nil {
				return nil, err
			}
			paths[v.Name] = path
			continue
		}
		dir := dirs.volume(uid, volumePlugin(v), v.Name)
		_, statErr := os.Stat(dir)
		created := errors.Is(statErr, fs.ErrNotExist)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if v.EmptyDir != nil {
			// Set up once: a refresh must not undo the mode and group the pod's
			// containers see (the setgid bit of an fsGroup's directory).
			fresh := created
			if v.EmptyDir.Medium == corev1.StorageMediumMemory && !mounted(dir) {
				var size int64
				if v.EmptyDir.SizeLimit != nil {
					size = v.EmptyDir.SizeLimit.Value()
				}
				// tmpfs's own mode for its root, 1777, as the kubelet's memory
				// emptyDir has it.
				if err := mountTmpfs(dir, size, "1777"); err != nil {
					return nil, err
				}
				fresh = true
			}
			if fresh {
				// Writable by any container user; a sticky bit (a tmpfs's) stays.
				fi, err := os.Stat(dir)
				if err != nil {
					return nil, err
				}
				if fi.Mode().Perm() != 0o777 {
					if err := os.Chmod(dir, 0o777); err != nil {
						return nil, err
					}
				}
				if fsGroup != nil {
					if err := setOwnership(dir, *fsGroup, false); err != nil {
						return nil, fmt.Errorf("volume %q: %w", v.Name, err)
					}
				}
			}
			paths[v.Name] = dir
			continue
		}
		if err := os.Chmod(dir, 0o755); err != nil { // readable by any container user
			return nil, err
		}
		paths[v.Name] = dir
		var files map[string]fileContent
		var err error
		switch {
		case v.ConfigMap != nil:
			files, err = configMapFiles(ctx, src, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional)
		case v.Secret != nil:
			if err := mountTmpfs(dir, 0, "0755"); err != nil {
				return nil, err
			}
			files, err = secretFiles(ctx, src, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional)
		case v.DownwardAPI != nil:
			files, err = downwardFiles(pod, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode, hostIP, src.allocatable)
		case v.Projected != nil:
			files = map[string]fileContent{}
			for _, s := range v.Projected.Sources {
				var part map[string]fileContent
				switch {
				case s.ConfigMap != nil:
					part, err = configMapFiles(ctx, src, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, v.Projected.DefaultMode, s.ConfigMap.Optional)
				case s.Secret != nil:
					part, err = secretFiles(ctx, src, pod.Namespace, s.Secret.Name, s.Secret.Items, v.Projected.DefaultMode, s.Secret.Optional)
				case s.DownwardAPI != nil:
					part, err = downwardFiles(pod, s.DownwardAPI.Items, v.Projected.DefaultMode, hostIP, src.allocatable)
				case s.ServiceAccountToken != nil:
					part, err = tokenFiles(ctx, src, pod, s.ServiceAccountToken, v.Projected.DefaultMode)
				}
				if err != nil {
					break
				}
				for k, f := range part {
					files[k] = f
				}
			}
		default:
			return nil, &configError{msg: fmt.Sprintf("volume %q: this volume type is not supported", v.Name)}
		}
		if err != nil {
			return nil, err
		}
		if err := writeVolume(dir, files); err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		if fsGroup != nil {
			if err := setOwnership(dir, *fsGroup, true); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
		}
	}
	return paths, nil
}

// setOwnership gives a volume to the pod's fsGroup, as upstream's kubelet does: every
// file and directory gets the group and its read bits (and write bits unless readOnly),
// and directories also search and setgid, so that new files inherit the group.
func setOwnership(dir string, gid int64, readOnly bool) error {
	mask := fs.FileMode(0o660)
	if readOnly {
		mask = 0o440
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(gid)); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := mask
		if d.IsDir() {
			m |= fs.ModeSetgid | 0o110
		}
		return os.Chmod(p, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)|m)
	})
}

type fileContent struct {
	data []byte
	mode os.FileMode
	// owner, when set, is the user that owns the file (a token the pod's one user
	// reads).
	owner *int64
}

func mode(item *int32, def *int32) os.FileMode {
	switch {
	case item != nil:
		return os.FileMode(*item)
	case def != nil:
		return os.FileMode(*def)
	}
	return 0o644
}

func configMapFiles(ctx context.Context, src objectSource, ns, name string, items []corev1.KeyToPath, def *int32, opt *bool) (map[string]fileContent, error) {
	cm, err := src.configMap(ctx, ns, name)
	if err != nil {
		if optional(opt) && apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, refError("configmap", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles(data, items, def, "ConfigMap", ns, name, opt)
}

// tokenFiles is the service account token of a projection, at its path.
func tokenFiles(ctx context.Context, src objectSource, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection, def *int32) (map[string]fileContent, error) {
	if src.tokens == nil {
		return nil, &configError{msg: "service account tokens are not available on this node"}
	}
	token, err := src.tokens.get(ctx, pod, p)
	if err != nil {
		return nil, err
	}
	f := fileContent{data: []byte(token), mode: mode(nil, def)}
	// As the kubelet: when the pod's containers run as one user, or the pod has an
	// fsGroup, the token is that user's alone (0600; the fsGroup then gets to read it).
	user := podUser(pod)
	if user != nil || pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.FSGroup != nil {
		f.mode, f.owner = 0o600, user
	}
	return map[string]fileContent{p.Path: f}, nil
}

// podUser is the user every container of a pod runs as, when they all name the same
// one (their own runAsUser, or the pod's); nil otherwise.
func podUser(pod *corev1.Pod) *int64 {
	var podLevel *int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		podLevel = sc.RunAsUser
	}
	var user *int64
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i, c := range all {
		u := podLevel
		if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
			u = c.SecurityContext.RunAsUser
		}
		if u == nil || i > 0 && *u != *user {
			return nil
		}
		user = u
	}
	return user
}

func secretFiles(ctx context.Context, src objectSource, ns, name string, items []corev1.KeyToPath, def *int32, opt *bool) (map[string]fileContent, error) {
	sec, err := src.secret(ctx, ns, name)
	if err != nil {
		if optional(opt) && apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, refError("secret", name, err)
	}
	return keyFiles(sec.Data, items, def, "Secret", ns, name, opt)
}

func keyFiles(data map[string][]byte, items []corev1.KeyToPath, def *int32, kind, ns, name string, opt *bool) (map[string]fileContent, error) {
	out := map[string]fileContent{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = fileContent{data: v, mode: mode(nil, def)}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional(opt) {
				continue
			}
			return nil, &configError{msg: fmt.Sprintf("couldn't find key %s in %s %s/%s", it.Key, kind, ns, name)}
		}
		out[it.Path] = fileContent{data: v, mode: mode(it.Mode, def)}
	}
	return out, nil
}

func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def *int32, hostIP string, allocatable corev1.ResourceList) (map[string]fileContent, error) {
	out := map[string]fileContent{}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = fieldValue(pod, it.FieldRef.FieldPath, hostIP)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, &configError{msg: fmt.Sprintf("container %q not found", it.ResourceFieldRef.ContainerName)}
			}
			v, err = resourceValue(c, it.ResourceFieldRef, allocatable)
		}
		if err != nil {
			return nil, err
		}
		out[it.Path] = fileContent{data: []byte(v), mode: mode(it.Mode, def)}
	}
	return out, nil
}

// findContainer returns the spec of a pod's container, init container or ephemeral
// container (whose common fields are a Container's), or nil.
func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if ec := &pod.Spec.EphemeralContainers[i]; ec.Name == name {
			return (*corev1.Container)(&ec.EphemeralContainerCommon)
		}
	}
	return nil
}

func hostPathCheck(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Stat(h.Path)
	switch t {
	case corev1.HostPathDirectoryOrCreate:
		if errors.Is(err, fs.ErrNotExist) {
			return os.MkdirAll(h.Path, 0o755)
		}
	case corev1.HostPathFileOrCreate:
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	case corev1.HostPathDirectory:
		if err != nil || !fi.IsDir() {
			return &configError{msg: fmt.Sprintf("hostPath type check failed: %s is not a directory", h.Path)}
		}
	case corev1.HostPathFile:
		if err != nil || !fi.Mode().IsRegular() {
			return &configError{msg: fmt.Sprintf("hostPath type check failed: %s is not a file", h.Path)}
		}
	}
	return nil
}

// mountTmpfs mounts a tmpfs of size bytes (0: the kernel's default) whose root has
// mode (octal), unless dir is a mount point already.
func mountTmpfs(dir string, size int64, mode string) error {
	if mounted(dir) {
		return nil
	}
	opts := "mode=" + mode
	if size > 0 {
		opts += fmt.Sprintf(",size=%d", size)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting tmpfs on %s: %w", dir, err)
	}
	return nil
}

// mounted reports whether dir is a mount point.
func mounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// tearDownPodDir unmounts whatever the agent mounted for a pod and removes its files.
func tearDownPodDir(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err == nil {
		var mounts []string
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				mounts = append(mounts, f[4])
			}
		}
		// Deepest first.
		for i := len(mounts) - 1; i >= 0; i-- {
			_ = unix.Unmount(mounts[i], unix.MNT_DETACH)
		}
	}
	return os.RemoveAll(dir)
}

// imageVolumes returns the image volumes of a pod: the reference and pull policy of
// each, by volume name.
func imageVolumes(pod *corev1.Pod) map[string]*corev1.ImageVolumeSource {
	out := map[string]*corev1.ImageVolumeSource{}
	for i := range pod.Spec.Volumes {
		if v := &pod.Spec.Volumes[i]; v.Image != nil {
			out[v.Name] = v.Image
		}
	}
	return out
}

// containerMounts turns a container's volumeMounts into runtime mounts, plus its
// termination-message file: each volume in volumes by its host path, and each image
// volume in images as a read-only mount of the image that the runtime makes.
// A subPathExpr is expanded with the container's environment vars; a subPath that is
// absolute or steps out with ".." is refused, as upstream does, and one that leads out
// of its volume through a symlink too (see subpath.go). The pod's hosts file,
// when there is one, is the container's /etc/hosts unless a volume is mounted there.
func containerMounts(c *corev1.Container, volumes map[string]string, images map[string]*corev1.ImageVolumeSource, vars map[string]string, paths mountPaths) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	hostsFile, terminationLog := paths.hostsFile, paths.terminationLog
	if _, err := os.Stat(hostsFile); hostsFile != "" && err == nil &&
		!slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return filepath.Clean(vm.MountPath) == "/etc/hosts" }) {
		out = append(out, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: hostsFile})
	}
	for i, vm := range c.VolumeMounts {
		if img, ok := images[vm.Name]; ok {
			out = append(out, &runtimeapi.Mount{ContainerPath: vm.MountPath, Image: &runtimeapi.ImageSpec{Image: img.Reference}, Readonly: true})
			continue
		}
		host, ok := volumes[vm.Name]
		if !ok {
			return nil, &configError{msg: fmt.Sprintf("volume %q not found", vm.Name)}
		}
		subPath := vm.SubPath
		if vm.SubPathExpr != "" {
			var err error
			if subPath, err = expandSubPath(vm.SubPathExpr, vars); err != nil {
				return nil, err
			}
		}
		if subPath != "" {
			if filepath.IsAbs(subPath) {
				return nil, &configError{msg: fmt.Sprintf("error SubPath `%s` must not be an absolute path", subPath)}
			}
			if hasBacksteps(subPath) {
				return nil, &configError{msg: fmt.Sprintf("unable to provision SubPath `%s`: must not contain '..'", subPath)}
			}
			// Made when missing with the volume's own mode, so that a container user who
			// may write the volume may write there too.
			perm := fs.FileMode(0o755)
			if fi, err := os.Stat(host); err == nil {
				// The volume's whole mode, as the kubelet's: an fsGroup's setgid
				// bit (and a tmpfs's sticky bit) carry over.
				perm = fi.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSticky)
			}
			f, err := openSubPath(host, subPath, perm)
			if err != nil {
				return nil, err
			}
			host = filepath.Join(paths.subPaths, vm.Name, c.Name, fmt.Sprint(i))
			err = bindSubPath(f, host)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
		m := &runtimeapi.Mount{ContainerPath: vm.MountPath, HostPath: host, Readonly: vm.ReadOnly}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				m.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
			case corev1.MountPropagationBidirectional:
				m.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
			}
		}
		out = append(out, m)
	}
	if c.TerminationMessagePath != "" && terminationLog != "" {
		if err := os.MkdirAll(filepath.Dir(terminationLog), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(terminationLog, os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			return nil, err
		}
		f.Close()
		_ = os.Chmod(terminationLog, 0o666)
		out = append(out, &runtimeapi.Mount{ContainerPath: c.TerminationMessagePath, HostPath: terminationLog})
	}
	return out, nil
}

// expandSubPath expands $(VAR) references of a subPathExpr; every variable must have a
// value.
func expandSubPath(expr string, vars map[string]string) (string, error) {
	var missing []string
	for rest := expr; ; {
		i := strings.Index(rest, "$(")
		if i < 0 {
			break
		}
		if i > 0 && rest[i-1] == '$' { // an escaped $$(
			rest = rest[i+2:]
			continue
		}
		end := strings.IndexByte(rest[i:], ')')
		if end < 0 {
			break
		}
		if name := rest[i+2 : i+end]; vars[name] == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		rest = rest[i+end+1:]
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", &configError{msg: "missing value for " + strings.Join(missing, ", ")}
	}
	return expand(expr, vars), nil
}

// hasBacksteps reports a path with a ".." element.
func hasBacksteps(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
