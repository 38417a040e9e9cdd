package statefulset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
)

// maxBatch bounds the tasks a Parallel phase runs at once, as upstream's.
const maxBatch = 500

// execute carries out p for set (queued under key) and returns how many pods its
// rolling update deleted.
func (c *Controller) execute(ctx context.Context, key string, set *appsv1.StatefulSet, p plan) (int, error) {
	var updated atomic.Int32
	run := func(t task) error {
		for _, s := range t {
			deleted, err := c.do(ctx, key, set, s)
			if deleted && s.op == opUpdate {
				updated.Add(1)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", s.op, s.pod.Name, err)
			}
		}
		return nil
	}
	for _, phase := range p.phases {
		var err error
		if p.parallel {
			err = slowStart(phase, run)
		} else {
			for _, t := range phase {
				if err = run(t); err != nil {
					break
				}
			}
		}
		if err != nil {
			return int(updated.Load()), err
		}
	}
	return int(updated.Load()), nil
}

// do carries out one step and reports whether it deleted a pod.
func (c *Controller) do(ctx context.Context, key string, set *appsv1.StatefulSet, s step) (bool, error) {
	switch s.op {
	case opCreate:
		return false, c.createPod(ctx, key, set, s.pod)
	case opReplace, opScaleDown, opUpdate:
		return c.deletePod(ctx, key, set, s.pod)
	case opClaims:
		return false, c.ensureClaims(ctx, set, s.pod)
	case opConform:
		return false, c.conformPod(ctx, set, s.pod)
	case opClaimOwners:
		return false, c.syncClaimOwners(ctx, set, s.pod)
	}
	return false, fmt.Errorf("unknown op %d", s.op)
}

// slowStart runs tasks in batches of 1, 2, 4, ... (at most maxBatch), each batch in
// parallel, and stops after a batch in which one failed.
func slowStart(tasks []task, run func(task) error) error {
	for done, batch := 0, 1; done < len(tasks); batch = min(2*batch, maxBatch) {
		n := min(batch, len(tasks)-done)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = run(tasks[done+i]) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		done += n
	}
	return nil
}
