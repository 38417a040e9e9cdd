package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// StorageOptions size the storage benchmark.
type StorageOptions struct {
	Claims  int // local-path claims, each with a pod that uses it
	Timeout time.Duration
}

// Storage prints how long local-path claims take from creation to Bound (p50, p99),
// one after another: each claim is created with a pod that uses it, the scheduler
// picks the node, the provisioner makes the directory on the agent and the volume, the
// binder binds. Beside it, in the same run, as many pods without a claim, from
// creation to bound to the node: the scheduling part of the path, with no volume.
func Storage(bin, moduleRoot string, opts StorageOptions, out io.Writer) (err error) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-storage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	n, err := startNode(bin, moduleRoot, root, 2*opts.Claims+10)
	if err != nil {
		return err
	}
	defer n.stop()
	cs := n.server.Client(true)
	if err := waitNodeReady(cs, time.Minute); err != nil {
		return err
	}
	defer func() {
		// Graceful, so that the agent stops the containers before it is stopped; then
		// the claims, whose directories the provisioner removes.
		_ = cs.CoreV1().Pods("default").DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{})
		waitGone(cs, 5*time.Minute)
		_ = cs.CoreV1().PersistentVolumeClaims("default").DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{})
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if l, err := cs.CoreV1().PersistentVolumes().List(bg, metav1.ListOptions{}); err == nil && len(l.Items) == 0 {
				break
			}
		}
	}()
	ctx, cancel := context.WithTimeout(bg, opts.Timeout)
	defer cancel()

	pod := func(name, claim string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers:                    []corev1.Container{{Name: "app", Image: "busybox", Command: []string{"sleep", "3600"}}}}}
		if claim != "" {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}
		return p
	}
	// Claims: from the create to the claim's Bound phase.
	claimW, err := cs.CoreV1().PersistentVolumeClaims("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer claimW.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	var claimLat []time.Duration
	claimsDone := make(chan struct{})
	go func() {
		defer close(claimsDone)
		for ev := range claimW.ResultChan() {
			c, ok := ev.Object.(*corev1.PersistentVolumeClaim)
			if !ok || ev.Type != watch.Modified || c.Status.Phase != corev1.ClaimBound {
				continue
			}
			mu.Lock()
			if t0, ok := created[c.Name]; ok {
				claimLat = append(claimLat, time.Since(t0))
				delete(created, c.Name)
			}
			done := len(claimLat) == opts.Claims
			mu.Unlock()
			if done {
				return
			}
		}
	}()
	start := time.Now()
	for i := 0; i < opts.Claims; i++ {
		// One at a time: the latency of the path, not of a queue behind it (a burst
		// of pods starting at once on two cores is what the podstart figures show).
		for {
			mu.Lock()
			waiting := len(created)
			mu.Unlock()
			if waiting == 0 || ctx.Err() != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		name := fmt.Sprintf("data-%03d", i)
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}}}
		mu.Lock()
		created[name] = time.Now()
		mu.Unlock()
		if _, err := cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim, metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod(fmt.Sprintf("user-%03d", i), name), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	select {
	case <-claimsDone:
	case <-ctx.Done():
		return fmt.Errorf("%d of %d claims bound before the timeout", len(claimLat), opts.Claims)
	}
	all := time.Since(start)

	// Pods without a claim: from the create to bound to the node.
	podW, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer podW.Stop()
	podCreated := map[string]time.Time{}
	var podLat []time.Duration
	podsDone := make(chan struct{})
	go func() {
		defer close(podsDone)
		for ev := range podW.ResultChan() {
			pd, ok := ev.Object.(*corev1.Pod)
			if !ok || pd.Spec.NodeName == "" {
				continue
			}
			mu.Lock()
			if t0, ok := podCreated[pd.Name]; ok {
				podLat = append(podLat, time.Since(t0))
				delete(podCreated, pd.Name)
			}
			done := len(podLat) == opts.Claims
			mu.Unlock()
			if done {
				return
			}
		}
	}()
	for i := 0; i < opts.Claims; i++ {
		for {
			mu.Lock()
			waiting := len(podCreated)
			mu.Unlock()
			if waiting == 0 || ctx.Err() != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		name := fmt.Sprintf("plain-%03d", i)
		mu.Lock()
		podCreated[name] = time.Now()
		mu.Unlock()
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod(name, ""), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	select {
	case <-podsDone:
	case <-ctx.Done():
		return fmt.Errorf("%d of %d pods scheduled before the timeout", len(podLat), opts.Claims)
	}
	dirs, _ := filepath.Glob(filepath.Join(n.dataDir, "*", "storage", "pvc-*"))
	p("local-path claims, %d one after another, each created with a pod that uses it: create to Bound p50 %s p99 %s (%.1f s in all; %d directories on the node); pods without a claim, one after another, create to scheduled: p50 %s p99 %s; p50 ratio %.2f",
		opts.Claims, pct(claimLat, 50), pct(claimLat, 99), all.Seconds(), len(dirs), pct(podLat, 50), pct(podLat, 99), ratio(pctRaw(claimLat, 50), pctRaw(podLat, 50)))
	return nil
}
