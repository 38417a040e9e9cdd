package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/agent/stats"
	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/fake"
)

// fakeCgroups places pods at /podium/pod<sandbox> and containers below them.
type fakeCgroups struct{ rt *fake.Runtime }

func (fakeCgroups) CgroupParent() string { return "/podium" }

func (f fakeCgroups) PodCgroup(sandboxID string) (string, error) {
	return "/podium/pod" + sandboxID, nil
}

func (f fakeCgroups) ContainerCgroup(id string) (string, error) {
	cs, _ := f.rt.ListContainers(context.Background(), "")
	for _, c := range cs {
		if c.Id == id {
			return fmt.Sprintf("/podium/pod%s/%s", c.PodSandboxId, id), nil
		}
	}
	return "", runtime.ErrNotFound
}

func TestPodStatsSource(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clocktesting.NewFakeClock(t0)
	rt := fake.New(clk)
	sandbox := func(ns, name, uid string) string {
		t.Helper()
		id, err := rt.RunPodSandbox(ctx, &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: ns, Uid: uid},
			Labels: map[string]string{agent.LabelPodUID: uid, agent.LabelPodName: name, agent.LabelPodNamespace: ns}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	container := func(sb, name string, start bool) string {
		t.Helper()
		id, err := rt.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Image: &runtimeapi.ImageSpec{Image: "busybox"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if start {
			if err := rt.StartContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	old := sandbox("default", "web", "old-uid") // sb1: replaced by sb3 below
	container(old, "app", true)                 // c2
	clk.Step(time.Second)
	other := sandbox("kube-system", "dns", "dns-uid") // sb3
	container(other, "dns", true)                     // c4
	container(other, "waiting", false)                // c5: created, not started
	clk.Step(time.Second)
	web := sandbox("default", "web", "new-uid") // sb6
	container(web, "app", true)                 // c7
	stopped := sandbox("default", "stopped", "stopped-uid")
	if err := rt.StopPodSandbox(ctx, stopped); err != nil {
		t.Fatal(err)
	}

	got, err := podStats{rt: rt, cgroups: fakeCgroups{rt: rt}}.Pods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []stats.Pod{
		{Namespace: "default", Name: "web", UID: "new-uid", StartTime: t0.Add(2 * time.Second), Cgroup: "/podium/podsb6",
			Containers: []stats.Container{{Name: "app", StartTime: t0.Add(2 * time.Second), Cgroup: "/podium/podsb6/c7"}}},
		{Namespace: "kube-system", Name: "dns", UID: "dns-uid", StartTime: t0.Add(time.Second), Cgroup: "/podium/podsb3",
			Containers: []stats.Container{{Name: "dns", StartTime: t0.Add(time.Second), Cgroup: "/podium/podsb3/c4"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Pods (-want +got):\n%s", diff)
	}
}
