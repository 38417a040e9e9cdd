package agent

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// TestSubPathExpr: a subPathExpr is expanded with the container's variables, made with
// the volume's mode and pinned by a bind mount below the pod's volume-subpaths; an
// absolute or stepping-out result, or a variable without a value, is a configuration
// error, as upstream.
func TestSubPathExpr(t *testing.T) {
	requireRoot(t)
	vol, pinned := t.TempDir(), t.TempDir()
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tearDownPodDir(pinned) })
	vars := map[string]string{"POD_NAME": "foo", "ANNOTATION": "mypath", "UP": "..", "ABS": "/tmp", "EMPTY": ""}
	for _, tc := range []struct {
		expr, want, err string
	}{
		{expr: "$(ANNOTATION)/$(POD_NAME)", want: "mypath/foo"},
		{expr: "$(UP)", err: "unable to provision SubPath `..`: must not contain '..'"},
		{expr: "$(ABS)", err: "error SubPath `/tmp` must not be an absolute path"},
		{expr: "$(NOPE)/$(EMPTY)", err: "missing value for EMPTY, NOPE"},
		{expr: "$$(POD_NAME)", want: "$(POD_NAME)"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "v", MountPath: "/m", SubPathExpr: tc.expr}}}
			mounts, err := containerMounts(c, map[string]string{"v": vol}, nil, vars, mountPaths{subPaths: pinned})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if _, ok := err.(*configError); !ok {
					t.Fatalf("%T is not a configuration error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(pinned, "v", "c", "0"); mounts[0].HostPath != want {
				t.Fatalf("host path %s, want %s", mounts[0].HostPath, want)
			}
			want := filepath.Join(vol, tc.want)
			if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o777 {
				t.Fatalf("subpath directory: %v %v", fi, err)
			}
			// What the runtime mounts is the subpath itself.
			if err := os.WriteFile(filepath.Join(mounts[0].HostPath, "probe"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(want, "probe")); err != nil {
				t.Fatalf("the pinned mount is not the subpath: %v", err)
			}
		})
	}
}

// TestSubPathSymlinks: symlinks a container planted in its volume are followed while
// they stay inside it; one that leads out, at any component, is a configuration error
// and makes nothing outside.
func TestSubPathSymlinks(t *testing.T) {
	vol, outside := t.TempDir(), t.TempDir()
	for _, l := range []struct{ name, target string }{
		{"root", "/"}, {"out", outside}, {"up", "../.."}, {"inner", "data"}, {"loop", "loop"},
	} {
		if err := os.Symlink(l.target, filepath.Join(vol, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(vol, "data", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sub, err string }{
		{sub: "root"},
		{sub: "root/etc"},
		{sub: "out/new/dirs"},
		{sub: "up"},
		{sub: "loop"},
		{sub: "inner/d/e"},
		{sub: "inner/d"},
		{sub: "data/f/g"},
	} {
		t.Run(tc.sub, func(t *testing.T) {
			f, err := openSubPath(vol, tc.sub, 0o755)
			escapes := !strings.HasPrefix(tc.sub, "inner") && !strings.HasPrefix(tc.sub, "data")
			if !escapes {
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				return
			}
			if f != nil {
				f.Close()
			}
			want := "subpath \"" + tc.sub + "\" not within volume path \"" + vol + "\""
			if _, ok := err.(*configError); !ok || err.Error() != want {
				t.Fatalf("error %v (%T), want the configuration error %q", err, err, want)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("made outside the volume: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(vol, "data", "d", "e")); err != nil {
		t.Fatalf("a missing directory behind an inner symlink: %v", err)
	}
}

// TestSubPathMode: a missing subPath is made with the volume's mode, its setgid and
// sticky bits included, as the kubelet makes it for an fsGroup's volume.
func TestSubPathMode(t *testing.T) {
	vol := t.TempDir()
	mode := fs.FileMode(0o777) | fs.ModeSetgid | fs.ModeSticky
	if err := os.Chmod(vol, mode); err != nil {
		t.Fatal(err)
	}
	f, err := openSubPath(vol, "new/dir", mode)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{"new", "new/dir"} {
		fi, err := os.Stat(filepath.Join(vol, p))
		if err != nil || fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky) != mode {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode(), err, mode)
		}
	}
}

// TestCommandExpansion: $(VAR) in command and args takes the container's environment;
// unknown references stay, $$ escapes.
func TestCommandExpansion(t *testing.T) {
	p := testPod(corev1.RestartPolicyNever, nil, "c")
	c := &p.Spec.Containers[0]
	c.Command = []string{"sh", "-c", "echo $(TEST_VAR) $(UNSET) $$(TEST_VAR)"}
	c.Args = []string{"$(TEST_VAR)"}
	cfg, err := containerConfig(p, c, Start{Spec: c}, []corev1.EnvVar{{Name: "TEST_VAR", Value: "test-value"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Command, "|"); got != "sh|-c|echo test-value $(UNSET) $(TEST_VAR)" {
		t.Fatalf("command %q", got)
	}
	if cfg.Args[0] != "test-value" || c.Args[0] != "$(TEST_VAR)" {
		t.Fatalf("args %q; the spec became %q", cfg.Args, c.Args)
	}
}

// TestFSGroupOwnership: with an fsGroup, a secret volume's files belong to that group
// and are readable by it, whatever their mode; emptyDirs are group-writable with setgid,
// and stay so when the volumes are refreshed.
func TestFSGroupOwnership(t *testing.T) {
	gid := int64(os.Getgid()) // a group this test may give files to without root
	client := kubefake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"},
		Data: map[string][]byte{"key": []byte("value")}})
	mode := int32(0o400)
	pod := testPod(corev1.RestartPolicyAlways, nil, "c")
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &gid}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: &mode}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if os.Geteuid() != 0 {
		pod.Spec.Volumes[0].Secret = nil // a secret volume is a tmpfs, which needs root
		pod.Spec.Volumes[0].ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, DefaultMode: &mode}
		if _, err := client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}, Data: map[string]string{"key": "value"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dirs := podDirs{root: t.TempDir()}
	paths, err := setUpVolumes(context.Background(), dirs, objectSource{client: client}, pod, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tearDownPodDir(dirs.pod(string(pod.UID))) })
	check := func(p string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int64(st.Gid) != gid || fi.Mode()&want != want {
			t.Fatalf("%s: gid %d mode %v; want gid %d and %v", p, st.Gid, fi.Mode(), gid, want)
		}
	}
	check(filepath.Join(paths["sec"], "key"), 0o440)
	check(paths["scratch"], 0o770|os.ModeSetgid)
	// A refresh (the agent rewrites the secret's files) keeps the emptyDir's setgid.
	if _, err := setUpVolumes(context.Background(), dirs, objectSource{client: client}, pod, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	check(paths["scratch"], 0o770|os.ModeSetgid)
}

// TestResourceFieldDefaults: a limit the container does not set reads as the node's
// allocatable amount; requests and set limits read as they are, rounded up.
func TestResourceFieldDefaults(t *testing.T) {
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("32Mi")}}}
	for _, tc := range []struct {
		res, divisor, want string
	}{
		{"limits.cpu", "", "2"},
		{"limits.memory", "", "8589934592"},
		{"limits.memory", "1Mi", "8192"},
		{"requests.cpu", "1m", "250"},
		{"requests.cpu", "", "1"},
		{"requests.memory", "1Mi", "32"},
	} {
		ref := &corev1.ResourceFieldSelector{Resource: tc.res}
		if tc.divisor != "" {
			ref.Divisor = resource.MustParse(tc.divisor)
		}
		if got, err := resourceValue(c, ref, alloc); err != nil || got != tc.want {
			t.Errorf("%s / %s = %q %v, want %q", tc.res, tc.divisor, got, err, tc.want)
		}
	}
}

// requireRoot stops a test that mounts: a failure under CI=true, a skip elsewhere.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("prerequisite missing: root (bind mounts of subpaths)")
	}
	t.Skip("prerequisite missing: root (bind mounts of subpaths)")
}
