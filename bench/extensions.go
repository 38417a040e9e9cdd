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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
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
// apply it again with every object changed. It also prints creates per second of
// custom resources with a schema and a CEL rule beside those of ConfigMaps.
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

	// Creates per second: ConfigMaps, and custom resources of a definition with a
	// schema and one CEL rule, by the same clients in the same run.
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "creates"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := apply(benchCRD); err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(s.Rest())
	if err != nil {
		return err
	}
	gadgets := dyn.Resource(schema.GroupVersionResource{Group: "bench.podium.dev", Version: "v1", Resource: "gadgets"}).Namespace("creates")
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if _, err := gadgets.List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
			break
		} else if time.Since(start) > 30*time.Second {
			return fmt.Errorf("the benchmark's CRD is not served: %w", err)
		}
	}
	rate := func(create func(i int64) error) (float64, error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, opts.Workers)
		start := time.Now()
		for w := 0; w < opts.Workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(opts.Creates); i = next.Add(1) {
					if err := create(i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return 0, err
		default:
		}
		return float64(opts.Creates) / time.Since(start).Seconds(), nil
	}
	cms, err := rate(func(i int64) error {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Labels: map[string]string{"bench": "yes"}},
			Data: map[string]string{"size": "large", "replicas": "3"}}
		_, err := admin.CoreV1().ConfigMaps("creates").Create(ctx, cm, metav1.CreateOptions{FieldManager: "bench"})
		return err
	})
	if err != nil {
		return err
	}
	crs, err := rate(func(i int64) error {
		g := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "bench.podium.dev/v1", "kind": "Gadget",
			"metadata": map[string]any{"name": fmt.Sprintf("g-%d", i), "labels": map[string]any{"bench": "yes"}},
			"spec":     map[string]any{"size": "large", "replicas": int64(3)}}}
		_, err := gadgets.Create(ctx, g, metav1.CreateOptions{FieldManager: "bench"})
		return err
	})
	if err != nil {
		return err
	}
	p("creates of %d objects by %d clients: ConfigMaps %.0f/s, custom resources with a schema and a CEL rule %.0f/s; custom/ConfigMap %.2f",
		opts.Creates, opts.Workers, cms, crs, crs/cms)
	return nil
}

// benchCRD is the definition whose objects the benchmark creates: a schema with an
// enum, a minimum and a default, and one CEL rule.
const benchCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.bench.podium.dev
spec:
  group: bench.podium.dev
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - {rule: "self.replicas <= 10", message: "replicas must be at most 10"}
            properties:
              size: {type: string, enum: [small, large], default: small}
              replicas: {type: integer, minimum: 0}
`

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
