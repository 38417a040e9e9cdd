package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	apitypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/fake"
)

// startAgent runs an agent on a fake API and a fake runtime, with short back-offs.
func startAgent(t *testing.T) (*kubefake.Clientset, *fake.Runtime) {
	t.Helper()
	client := kubefake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.0.0/24"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	client.PrependReactor("update", "pods", statusOnly(client))
	rt := fake.New(clock.RealClock{})
	dataDir := t.TempDir()
	dataDirs.Store(client, dataDir)
	a := New(Config{
		NodeName: "node-1", Client: client, DataDir: dataDir, PodLogDir: t.TempDir(),
		NewRuntime:  func(string) (runtime.Runtime, runtime.ImageService, error) { return rt, rt, nil },
		BackOffBase: 100 * time.Millisecond, BackOffMax: 400 * time.Millisecond,
		Relist: 20 * time.Millisecond, Heartbeat: time.Second, Resync: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return client, rt
}

// statusOnly makes a pod's status update change its status alone, as the API server's
// status subresource does; the fake would store the whole object, so a status written
// from the agent's cache could undo a deletion the test has just made.
func statusOnly(client *kubefake.Clientset) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, apiruntime.Object, error) {
		update, ok := action.(k8stesting.UpdateAction)
		if !ok || update.GetSubresource() != "status" {
			return false, nil, nil
		}
		next := update.GetObject().(*corev1.Pod)
		cur, err := client.Tracker().Get(update.GetResource(), next.Namespace, next.Name)
		if err != nil {
			return true, nil, err
		}
		stored := cur.(*corev1.Pod).DeepCopy()
		stored.Status = next.Status
		if err := client.Tracker().Update(update.GetResource(), stored, next.Namespace); err != nil {
			return true, nil, err
		}
		return true, stored, nil
	}
}

// dataDirs maps a test's fake client to its agent's data directory.
var dataDirs sync.Map

func agentDataDir(t *testing.T, client *kubefake.Clientset) string {
	t.Helper()
	d, ok := dataDirs.Load(client)
	if !ok {
		t.Fatal("no agent for this client")
	}
	return d.(string)
}

func boundPod(name, image string, policy corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: apitypes.UID("uid-" + name)},
		Spec: corev1.PodSpec{NodeName: "node-1", RestartPolicy: policy, Containers: []corev1.Container{
			{Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}}},
	}
}

// waitPod watches a pod until cond holds.
func waitPod(t *testing.T, client *kubefake.Clientset, name string, what string, cond func(*corev1.Pod, bool) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if p, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); (err == nil && cond(p, true)) || (err != nil && cond(nil, false)) {
		return
	}
	for {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Name != name {
				continue
			}
			if cond(p, ev.Type != watch.Deleted) {
				return
			}
		case <-ctx.Done():
			p, _ := client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
			t.Fatalf("pod %s never %s; last: %+v", name, what, p)
		}
	}
}

// waitEvent watches events until one reads "Reason: message..." with want in it; events
// are sent asynchronously.
func waitEvent(t *testing.T, client *kubefake.Clientset, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := client.CoreV1().Events("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if strings.Contains(events(t, client), want) {
		return
	}
	for {
		select {
		case ev := <-w.ResultChan():
			if e, ok := ev.Object.(*corev1.Event); ok && strings.Contains(e.Reason+": "+e.Message, want) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no event %q; have:\n%s", want, events(t, client))
		}
	}
}

func events(t *testing.T, client *kubefake.Clientset) string {
	t.Helper()
	l, err := client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range l.Items {
		b.WriteString(e.Reason + ": " + e.Message + "\n")
	}
	return b.String()
}

func TestAgentRunsRestartsAndDeletes(t *testing.T) {
	client, rt := startAgent(t)
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), boundPod("web", "nginx", corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "web", "running and ready", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready &&
			p.Status.PodIP != ""
	})
	// The container dies: restarted at once, then CrashLoopBackOff with the back-off.
	for i := 0; i < 2; i++ {
		ids := rt.Running("app")
		if len(ids) != 1 {
			waitPod(t, client, "web", "running again", func(p *corev1.Pod, ok bool) bool {
				return ok && p.Status.ContainerStatuses[0].State.Running != nil
			})
			ids = rt.Running("app")
		}
		rt.Exit(ids[0], 1)
		waitPod(t, client, "web", "restarted", func(p *corev1.Pod, ok bool) bool {
			cs := p.Status.ContainerStatuses[0]
			return ok && cs.RestartCount == int32(i+1) && cs.LastTerminationState.Terminated != nil
		})
	}
	waitPod(t, client, "web", "running after the back-off", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.ContainerStatuses[0].State.Running != nil && p.Status.ContainerStatuses[0].RestartCount == 2
	})
	for _, want := range []string{`Pulling: Pulling image "nginx"`, `Pulled: Successfully pulled image "nginx" in`, "Created: Created container: app", "Started: Started container app",
		"BackOff: Back-off restarting failed container app in pod web_default(uid-web)"} {
		waitEvent(t, client, want)
	}
	// Deletion: the agent stops everything and removes the pod object.
	p, err := client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	grace := int64(30)
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	if _, err := client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "web", "deleted", func(_ *corev1.Pod, ok bool) bool { return !ok })
	if !rt.Empty() {
		t.Fatal("the runtime still holds the deleted pod")
	}
	waitEvent(t, client, "Killing: Stopping container app")
}

// TestVolumeRefresh: a running pod's ConfigMap volume gets the ConfigMap's update on the
// next resync.
func TestVolumeRefresh(t *testing.T) {
	client, _ := startAgent(t)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "default"}, Data: map[string]string{"k": "one"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := boundPod("vol", "nginx", corev1.RestartPolicyAlways)
	pod.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/etc/conf"}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "vol", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	cm.Data["k"] = "two"
	if _, err := client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(agentDataDir(t, client), "pods", "uid-vol", "volumes", "kubernetes.io~configmap", "conf", "k")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if data, err := os.ReadFile(file); err == nil && string(data) == "two" {
			return
		}
		if time.Now().After(deadline) {
			data, err := os.ReadFile(file)
			t.Fatalf("volume file %s: %q %v; want the update", file, data, err)
		}
	}
}

func TestAgentPhasesAndPullErrors(t *testing.T) {
	client, rt := startAgent(t)
	for _, p := range []*corev1.Pod{
		boundPod("ok", "exit:0", corev1.RestartPolicyNever),
		boundPod("bad", "exit:3", corev1.RestartPolicyNever),
		boundPod("missing", "missing:1", corev1.RestartPolicyAlways),
	} {
		if _, err := client.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, client, "ok", "Succeeded", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodSucceeded && p.Status.ContainerStatuses[0].State.Terminated.Reason == "Completed"
	})
	waitPod(t, client, "bad", "Failed", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodFailed && p.Status.ContainerStatuses[0].State.Terminated.ExitCode == 3
	})
	waitPod(t, client, "missing", "in ImagePullBackOff", func(p *corev1.Pod, ok bool) bool {
		return ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "ImagePullBackOff"
	})
	// After the back-off the pull is tried again, and fails again.
	waitPod(t, client, "missing", "back in ErrImagePull", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.ContainerStatuses[0].State.Waiting != nil && p.Status.ContainerStatuses[0].State.Waiting.Reason == "ErrImagePull"
	})
	if n := rt.PullCount("missing:1"); n < 2 {
		t.Fatalf("pull tried %d times", n)
	}
	for _, want := range []string{`Failed: Failed to pull image "missing:1"`, "Failed: Error: ErrImagePull", `BackOff: Back-off pulling image "missing:1"`} {
		waitEvent(t, client, want)
	}
}

// TestShorterGraceCutsPreStop: a pod deleted with 30 s of grace runs its 30 s preStop
// sleep hook; a second deletion with 1 s of grace ends the hook and the pod at once.
func TestShorterGraceCutsPreStop(t *testing.T) {
	client, rt := startAgent(t)
	ctx := context.Background()
	pod := boundPod("sleepy", "nginx", corev1.RestartPolicyAlways)
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 30}}}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "sleepy", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	deleteWithGrace := func(grace int64) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "sleepy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.Now()
		p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
		if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deleteWithGrace(30)
	waitEvent(t, client, "Killing: Stopping container app")
	if len(rt.Running("app")) != 1 {
		t.Fatal("the container stopped before its preStop hook ended")
	}
	start := time.Now()
	deleteWithGrace(1)
	waitPod(t, client, "sleepy", "deleted", func(_ *corev1.Pod, ok bool) bool { return !ok })
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the pod took %v to go after its grace period became 1 s", took)
	}
}

// TestActiveDeadline: a pod past its activeDeadlineSeconds is stopped and failed with
// DeadlineExceeded, and stays so.
func TestActiveDeadline(t *testing.T) {
	client, rt := startAgent(t)
	pod := boundPod("deadline", "nginx", corev1.RestartPolicyAlways)
	one := int64(1)
	pod.Spec.ActiveDeadlineSeconds = &one
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "deadline", "failed with DeadlineExceeded", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "DeadlineExceeded" &&
			p.Status.Message == "Pod was active on the node longer than the specified deadline"
	})
	waitEvent(t, client, "DeadlineExceeded: Pod was active on the node longer than the specified deadline")
	for deadline := time.Now().Add(5 * time.Second); len(rt.Running("app")) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the container still runs")
		}
	}
}

// TestLocalStorageEviction: a running pod whose container writes past its
// ephemeral-storage limit is evicted as the kubelet evicts it: killed at once (its
// grace period is an hour) and failed with reason Evicted, and stays so.
func TestLocalStorageEviction(t *testing.T) {
	client, rt := startAgent(t)
	pod := boundPod("greedy", "nginx", corev1.RestartPolicyAlways)
	hour := int64(3600)
	pod.Spec.TerminationGracePeriodSeconds = &hour
	pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("5Mi")}
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "greedy", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	ids := rt.Running("app")
	if len(ids) != 1 {
		t.Fatalf("running: %v", ids)
	}
	if err := rt.SetWritableLayer(ids[0], 10<<20); err != nil {
		t.Fatal(err)
	}
	const msg = "Pod ephemeral local storage usage exceeds the total limit of containers 5Mi. "
	waitPod(t, client, "greedy", "evicted", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" && p.Status.Message == msg
	})
	waitEvent(t, client, "Evicted: "+msg)
	for deadline := time.Now().Add(5 * time.Second); len(rt.Running("app")) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the container still runs")
		}
	}
}

// TestEphemeralContainer: a debug container added to a running pod runs once and is
// reported apart, never ready.
func TestEphemeralContainer(t *testing.T) {
	client, rt := startAgent(t)
	ctx := context.Background()
	if _, err := client.CoreV1().Pods("default").Create(ctx, boundPod("target", "nginx", corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "target", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	p, err := client.CoreV1().Pods("default").Get(ctx, "target", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "nginx", ImagePullPolicy: corev1.PullIfNotPresent}, TargetContainerName: "app"}}
	if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "target", "running its debugger", func(p *corev1.Pod, ok bool) bool {
		if !ok || len(p.Status.EphemeralContainerStatuses) != 1 {
			return false
		}
		cs := p.Status.EphemeralContainerStatuses[0]
		return cs.Name == "debugger" && cs.State.Running != nil && !cs.Ready && p.Status.ContainerStatuses[0].Ready
	})
	waitEvent(t, client, "Started: Started container debugger")
	ids := rt.Running("debugger")
	if len(ids) != 1 {
		t.Fatalf("debugger runs %d times", len(ids))
	}
	rt.Exit(ids[0], 0)
	waitPod(t, client, "target", "with its debugger done", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.EphemeralContainerStatuses[0].State.Terminated != nil
	})
	if n := len(rt.Running("debugger")); n != 0 {
		t.Fatalf("the debugger was started again (%d running)", n)
	}
}

// TestPodIPInEnv: the downward API gives a container the pod's IP although no status
// with it was written when the container started.
func TestPodIPInEnv(t *testing.T) {
	client, rt := startAgent(t)
	pod := boundPod("dapi", "nginx", corev1.RestartPolicyAlways)
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip string
	waitPod(t, client, "dapi", "running", func(p *corev1.Pod, ok bool) bool {
		ip = ""
		if ok {
			ip = p.Status.PodIP
		}
		return ok && p.Status.Phase == corev1.PodRunning
	})
	ids := rt.Running("app")
	if len(ids) != 1 {
		t.Fatalf("%d containers run", len(ids))
	}
	for _, kv := range rt.Config(ids[0]).Envs {
		if kv.Key == "POD_IP" {
			if string(kv.Value) != ip || ip == "" {
				t.Fatalf("POD_IP=%q, the pod's IP is %q", kv.Value, ip)
			}
			return
		}
	}
	t.Fatal("no POD_IP in the container's environment")
}

// TestUnsafeSysctlRefused: a pod asking for a sysctl outside the safe set fails with
// SysctlForbidden and runs nothing.
func TestUnsafeSysctlRefused(t *testing.T) {
	client, rt := startAgent(t)
	pod := boundPod("sysctl", "nginx", corev1.RestartPolicyAlways)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "kernel.msgmax", Value: "10000"}}}
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "sysctl", "rejected", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "SysctlForbidden" &&
			p.Status.Message == `Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted`
	})
	waitEvent(t, client, `SysctlForbidden: forbidden sysctl: "kernel.msgmax" not allowlisted`)
	if len(rt.Running("app")) != 0 {
		t.Fatal("the rejected pod runs")
	}
}

// TestHostPortTakenRefused: a pod bound to the node with a host port another running
// pod holds fails with NodePorts and runs nothing, as upstream's kubelet admission; once
// the holder is gone, a new pod with that port runs.
func TestHostPortTakenRefused(t *testing.T) {
	client, rt := startAgent(t)
	ctx := context.Background()
	withPort := func(name string) *corev1.Pod {
		pod := boundPod(name, "nginx", corev1.RestartPolicyAlways)
		pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
		return pod
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, withPort("holder"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "holder", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	if _, err := client.CoreV1().Pods("default").Create(ctx, withPort("second"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const msg = "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"
	waitPod(t, client, "second", "rejected", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "NodePorts" && p.Status.Message == "Pod was rejected: "+msg
	})
	waitEvent(t, client, "NodePorts: "+msg)
	if n := len(rt.Running("app")); n != 1 {
		t.Fatalf("%d containers run, want the holder's alone", n)
	}

	// A graceful deletion, as the API server makes it: the agent deletes the object
	// once the holder's containers are gone and its ports are free.
	holder, err := client.CoreV1().Pods("default").Get(ctx, "holder", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now, grace := metav1.Now(), int64(30)
	holder.DeletionTimestamp, holder.DeletionGracePeriodSeconds = &now, &grace
	if _, err := client.CoreV1().Pods("default").Update(ctx, holder, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "holder", "deleted", func(_ *corev1.Pod, ok bool) bool { return !ok })
	if _, err := client.CoreV1().Pods("default").Create(ctx, withPort("third"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "third", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	p, err := client.CoreV1().Pods("default").Get(ctx, "second", metav1.GetOptions{})
	if err != nil || p.Status.Phase != corev1.PodFailed {
		t.Fatalf("the rejected pod: %v %+v", err, p)
	}
}

// TestInPlaceResize: new resources on a running pod are applied to its container in
// place (same container, no restart), reported in its status with ResizeCompleted; a
// resize beyond the node is PodResizePending Infeasible.
func TestInPlaceResize(t *testing.T) {
	client, rt := startAgent(t)
	ctx := context.Background()
	pod := boundPod("resizable", "nginx", corev1.RestartPolicyAlways)
	pod.Generation = 1
	pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m")}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "resizable", "running", func(p *corev1.Pod, ok bool) bool { return ok && p.Status.Phase == corev1.PodRunning })
	before := rt.Running("app")

	p, err := client.CoreV1().Pods("default").Get(ctx, "resizable", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Generation = 2 // the API server's resize subresource bumps it
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("50m")
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "resizable", "resized", func(p *corev1.Pod, ok bool) bool {
		if !ok || p.Status.ObservedGeneration != 2 || len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		return cs.Resources != nil && cs.Resources.Requests.Cpu().String() == "50m" && cs.Resources.Limits.Memory().String() == "64Mi" &&
			cs.AllocatedResources.Cpu().String() == "50m" && cs.RestartCount == 0
	})
	waitEvent(t, client, `ResizeCompleted: Pod resize completed: {"containers":[{"name":"app","resources":{"limits":{"memory":"64Mi"},"requests":{"cpu":"50m"}}}],"generation":2}`)
	if after := rt.Running("app"); len(after) != 1 || len(before) != 1 || after[0] != before[0] {
		t.Fatalf("the container was replaced: %v, then %v", before, after)
	}
	st, err := rt.ContainerStatus(ctx, before[0])
	if err != nil {
		t.Fatal(err)
	}
	if r := st.GetResources().GetLinux(); r.GetCpuShares() != 51 || r.GetMemoryLimitInBytes() != 64<<20 {
		t.Errorf("runtime limits after the resize: %v", r)
	}

	p, err = client.CoreV1().Pods("default").Get(ctx, "resizable", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Generation = 3
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("100000")
	if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "resizable", "resize pending", func(p *corev1.Pod, ok bool) bool {
		for _, c := range p.Status.Conditions {
			if ok && c.Type == corev1.PodResizePending && c.Reason == corev1.PodReasonInfeasible &&
				strings.HasPrefix(c.Message, "Node didn't have enough capacity: cpu, requested: 100000000, capacity: ") {
				return p.Status.ContainerStatuses[0].AllocatedResources.Cpu().String() == "50m"
			}
		}
		return false
	})
}

// TestKillThatFailsIsRetried: when the runtime fails to stop a deleted pod's container,
// the agent reports FailedKillPod and keeps the pod object; it deletes it only once a
// later attempt stopped everything, so the container never outlives its pod unseen.
func TestKillThatFailsIsRetried(t *testing.T) {
	client, rt := startAgent(t)
	ctx := context.Background()
	if _, err := client.CoreV1().Pods("default").Create(ctx, boundPod("stubborn", "nginx", corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "stubborn", "running", func(p *corev1.Pod, ok bool) bool {
		return ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	rt.FailStops(4) // two attempts: the container's stop and the sandbox's each
	p, err := client.CoreV1().Pods("default").Get(ctx, "stubborn", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now, grace := metav1.Now(), int64(0)
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, &grace
	if _, err := client.CoreV1().Pods("default").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, client, "FailedKillPod: error killing pod: ")
	if _, err := client.CoreV1().Pods("default").Get(ctx, "stubborn", metav1.GetOptions{}); err != nil {
		t.Fatalf("the pod object went while its container ran: %v", err)
	}
	waitPod(t, client, "stubborn", "deleted after the retry", func(_ *corev1.Pod, ok bool) bool { return !ok })
	if !rt.Empty() {
		t.Fatal("the runtime still holds the deleted pod")
	}
}

// TestSandboxLost: when a pod's sandbox dies under it (its shim killed), the agent says
// so with SandboxChanged, makes a new sandbox and starts the containers again; the run
// that died shows as lastState, and the restart count goes on.
func TestSandboxLost(t *testing.T) {
	client, rt := startAgent(t)
	ctx := context.Background()
	if _, err := client.CoreV1().Pods("default").Create(ctx, boundPod("orphaned", "nginx", corev1.RestartPolicyAlways), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, client, "orphaned", "running", func(p *corev1.Pod, ok bool) bool {
		return ok && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	ids := rt.Running("app")
	if len(ids) != 1 {
		t.Fatalf("running: %v", ids)
	}
	rt.LoseSandbox(ids[0])
	waitEvent(t, client, "SandboxChanged: Pod sandbox changed, it will be killed and re-created.")
	waitPod(t, client, "orphaned", "running again in a new sandbox, the lost run as lastState", func(p *corev1.Pod, ok bool) bool {
		if !ok || len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		last := cs.LastTerminationState.Terminated
		return cs.State.Running != nil && cs.RestartCount == 1 && last != nil && last.ExitCode == 255 && last.ContainerID == "runc://"+ids[0]
	})
}

// TestExtendedResourcesKept: an extended resource someone else advertised in the
// node's capacity and allocatable survives the agent's status reports.
func TestExtendedResourcesKept(t *testing.T) {
	client, _ := startAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := client.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// Once the agent has reported, advertise the resource.
	var node *corev1.Node
	for node == nil {
		select {
		case ev := <-w.ResultChan():
			if n, ok := ev.Object.(*corev1.Node); ok && len(n.Status.Conditions) > 0 {
				node = n
			}
		case <-ctx.Done():
			t.Fatal("the agent never reported the node's status")
		}
	}
	foo := corev1.ResourceName("example.com/foo")
	node.Status.Capacity[foo], node.Status.Allocatable[foo] = resource.MustParse("5"), resource.MustParse("5")
	if _, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Our write, then the agent's next two reports, keep it.
	reports := 0
	for reports < 3 {
		select {
		case ev := <-w.ResultChan():
			n, ok := ev.Object.(*corev1.Node)
			if !ok {
				continue
			}
			if q := n.Status.Allocatable[foo]; q.String() != "5" {
				t.Fatalf("after a report, allocatable %v", n.Status.Allocatable)
			}
			reports++
		case <-ctx.Done():
			t.Fatal("no report")
		}
	}
}
