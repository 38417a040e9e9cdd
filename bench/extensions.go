package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExtensionOptions size the extension benchmark.
type ExtensionOptions struct {
	Objects int // objects in the applied manifest
	Runs    int // applies timed per mode and phase
	Creates int // objects created for the creates-per-second figures
	Workers int // concurrent creators
}

// Extensions measures server-side apply against client-side apply, both through
// kubectl: the time to apply a manifest of opts.Objects objects (ConfigMaps, Secrets,
// ServiceAccounts, Roles and RoleBindings in equal parts) into a new namespace, and to
// apply it again with every object changed. It also prints ConfigMap creates per second,
// with managedFields kept on each.
func Extensions(bin string, opts ExtensionOptions, out io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	dir, err := os.MkdirTemp("", "podium-bench-extensions-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := NewServer(bin, dir)
	if _, err := s.Start(); err != nil {
		return err
	}
	defer s.Stop()
	ctx := context.Background()
	admin := s.Client(true)
	kubeconfig := filepath.Join(s.DataDir, "kubeconfig.yaml")
	apply := func(manifest string, args ...string) (time.Duration, error) {
		cmd := exec.Command(filepath.Join(bin, "podium"), append([]string{"kubectl", "--kubeconfig", kubeconfig, "apply", "-f", "-"}, args...)...)
		cmd.Stdin = strings.NewReader(manifest)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("kubectl apply %v: %v: %.500s", args, err, out)
		}
		return time.Since(start), nil
	}
	modes := []struct {
		name string
		args []string
	}{{"client-side", nil}, {"server-side", []string{"--server-side"}}}
	times := map[string][]time.Duration{}
	for run := 0; run < opts.Runs; run++ {
		for _, m := range modes {
			ns := fmt.Sprintf("%s-%d", m.name, run)
			if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				return err
			}
			for phase, value := range []string{"first", "second"} {
				d, err := apply(manifestOf(ns, opts.Objects, value), m.args...)
				if err != nil {
					return err
				}
				key := m.name + []string{" create", " update"}[phase]
				times[key] = append(times[key], d)
			}
		}
	}
	for _, phase := range []string{"create", "update"} {
		csa, ssa := median(times["client-side "+phase]), median(times["server-side "+phase])
		p("kubectl apply of %d objects, %s (median of %d): client-side %s, server-side %s; server-side/client-side %.2f",
			opts.Objects, phase, opts.Runs, csa.Round(time.Millisecond), ssa.Round(time.Millisecond), float64(ssa)/float64(csa))
	}

	// ConfigMap creates per second, each now with its managedFields entry.
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "creates"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, opts.Workers)
	start := time.Now()
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(opts.Creates); i = next.Add(1) {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Labels: map[string]string{"bench": "yes"}},
					Data: map[string]string{"key": "value"}}
				if _, err := admin.CoreV1().ConfigMaps("creates").Create(ctx, cm, metav1.CreateOptions{FieldManager: "bench"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	p("ConfigMap creates: %d in %s by %d clients, %.0f/s", opts.Creates, elapsed.Round(time.Millisecond), opts.Workers, float64(opts.Creates)/elapsed.Seconds())
	return nil
}

// manifestOf returns a YAML manifest of n objects in namespace ns whose data carry value.
func manifestOf(ns string, n int, value string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("obj-%d", i)
		meta := fmt.Sprintf("metadata:\n  name: %s\n  namespace: %s\n  labels: {app: bench, round: %s}\n", name, ns, value)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\n%sdata:\n  key: %s\n  other: unchanged\n", meta, value)
		case 1:
			fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\n%sstringData:\n  password: %s\n", meta, value)
		case 2:
			fmt.Fprintf(&b, "apiVersion: v1\nkind: ServiceAccount\n%s", meta)
		case 3:
			fmt.Fprintf(&b, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n%srules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]\n", meta)
		case 4:
			fmt.Fprintf(&b, "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n%sroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: obj-%d}\nsubjects:\n- {kind: ServiceAccount, name: obj-%d, namespace: %s}\n", meta, i-1, i-2, ns)
		}
		b.WriteString("---\n")
	}
	return b.String()
}
