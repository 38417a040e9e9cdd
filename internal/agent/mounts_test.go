package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestSubPathExpr: a subPathExpr is expanded with the container's variables and made
// with the volume's mode; an absolute or stepping-out result, or a variable without a
// value, is a configuration error, as upstream.
func TestSubPathExpr(t *testing.T) {
	vol := t.TempDir()
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
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
			mounts, err := containerMounts(c, map[string]string{"v": vol}, vars, "")
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
			want := filepath.Join(vol, tc.want)
			if mounts[0].HostPath != want {
				t.Fatalf("host path %s, want %s", mounts[0].HostPath, want)
			}
			if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o777 {
				t.Fatalf("subpath directory: %v %v", fi, err)
			}
		})
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
