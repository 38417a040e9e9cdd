package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// PreemptionOptions size the preemption benchmark.
type PreemptionOptions struct {
	Nodes    int // fake nodes, each with room for NodePods pods
	NodePods int
	Pods     int // high-priority pods created
	Workers  int
	Timeout  time.Duration
}

// Preemption prints the scheduler's throughput when every pod must preempt: fake nodes
// full of low-priority pods (terminationGracePeriodSeconds 0, so that a deleted victim
// goes at once, there being no agent), then opts.Pods pods of higher priority, each of
// which fits only by evicting one; from the first create until every one of them is
// bound. Beside it, on a fresh server, the same pods onto the same nodes left empty.
func Preemption(bin string, opts PreemptionOptions, out io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-preempt-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	without, err := preemptionRun(bin, filepath.Join(root, "empty"), opts, false)
	if err != nil {
		return fmt.Errorf("without preemption: %w", err)
	}
	with, err := preemptionRun(bin, filepath.Join(root, "full"), opts, true)
	if err != nil {
		return fmt.Errorf("with preemption: %w", err)
	}
	p("preemption: %d pods of priority 1000 onto %d fake nodes of %d pods each, full of pods of priority 0, every pod preempting one: bound in %.2f s, %.0f pods/s; onto the same nodes empty: %.2f s, %.0f pods/s; ratio %.2f",
		opts.Pods, opts.Nodes, opts.NodePods, with.Seconds(), float64(opts.Pods)/with.Seconds(), without.Seconds(), float64(opts.Pods)/without.Seconds(), ratio(with, without))
	return nil
}

func preemptionRun(bin, dir string, opts PreemptionOptions, full bool) (time.Duration, error) {
	s := NewServer(bin, dir)
	if _, err := s.Start(); err != nil {
		return 0, err
	}
	defer s.Stop()
	ctx, cancel := context.WithTimeout(bg, opts.Timeout)
	defer cancel()
	cs := s.Client(true)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: schedBenchNamespace}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	if _, err := cs.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "bench-high"}, Value: 1000}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	names := make([]string, opts.Nodes)
	for i := range names {
		names[i] = fmt.Sprintf("fake-node-%03d", i)
	}
	if err := registerFakeNodes(ctx, cs, names, opts.NodePods); err != nil {
		return 0, err
	}
	go renewLeases(ctx, cs, names, 10*time.Second)
	pod := func(name string) *corev1.Pod {
		pd := schedBenchPod(0)
		pd.Name = name
		pd.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0)
		return pd
	}
	if full {
		// The low-priority pods, placed by name.
		if err := runAll(opts.Nodes*opts.NodePods, opts.Workers, func(i int) error {
			low := pod(fmt.Sprintf("low-%05d", i))
			low.Spec.NodeName = names[i%opts.Nodes]
			_, err := cs.CoreV1().Pods(schedBenchNamespace).Create(ctx, low, metav1.CreateOptions{})
			return err
		}); err != nil {
			return 0, err
		}
	}
	l, err := cs.CoreV1().Pods(schedBenchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	w, err := cs.CoreV1().Pods(schedBenchNamespace).Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion, LabelSelector: "tier=high"})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	allBound := make(chan time.Time, 1)
	go countBindings(w, opts.Pods, allBound)
	t0 := time.Now()
	if err := runAll(opts.Pods, opts.Workers, func(i int) error {
		high := pod(fmt.Sprintf("high-%05d", i))
		high.Labels = map[string]string{"tier": "high"}
		high.Spec.PriorityClassName = "bench-high"
		_, err := cs.CoreV1().Pods(schedBenchNamespace).Create(ctx, high, metav1.CreateOptions{})
		return err
	}); err != nil {
		return 0, err
	}
	select {
	case done := <-allBound:
		return done.Sub(t0), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("not every pod was bound within %s", opts.Timeout)
	}
}
