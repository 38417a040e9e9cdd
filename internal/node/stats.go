package node

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/agent/stats"
	"github.com/podium/podium/internal/runtime"
)

// cgroupLocator finds the cgroups a runtime put its sandboxes and containers in; the
// runc runtime is one.
type cgroupLocator interface {
	// CgroupParent is the cgroup every pod's lies under.
	CgroupParent() string
	// PodCgroup is the cgroup of a sandbox's pod.
	PodCgroup(sandboxID string) (string, error)
	// ContainerCgroup is a container's cgroup.
	ContainerCgroup(containerID string) (string, error)
}

// statsHandler serves the kubelet's /stats/summary and /metrics/resource for the pods
// of rt, or nil when rt cannot say where its containers' cgroups are or the host has
// no cgroups mounted.
func statsHandler(nodeName string, rt runtime.Runtime, log *slog.Logger) http.Handler {
	cgroups, ok := rt.(cgroupLocator)
	if !ok {
		return nil
	}
	h, err := stats.DiscoverHierarchies()
	if err != nil || h == (stats.Hierarchies{}) {
		log.Warn("no resource stats: no cgroup hierarchy found", "err", err)
		return nil
	}
	p := stats.NewProvider(stats.Config{NodeName: nodeName, Source: podStats{rt: rt, cgroups: cgroups},
		Usages: stats.NewReader(h, ""), PodsCgroup: cgroups.CgroupParent(), Logger: log})
	return stats.NewHandler(p, log)
}

// podStats is the stats' Source: the pods of the runtime's ready sandboxes, with their
// running containers and the cgroups of both.
type podStats struct {
	rt      runtime.Runtime
	cgroups cgroupLocator
}

var _ stats.Source = podStats{}

// Pods implements stats.Source. Of several ready sandboxes of one pod name (a pod
// deleted and made again), the newest stands for it. As the kubelet's summary, a
// pod's start time is its sandbox's creation and a container's its creation.
func (s podStats) Pods(ctx context.Context) ([]stats.Pod, error) {
	sandboxes, err := s.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}})
	if err != nil {
		return nil, err
	}
	containers, err := s.rt.ListContainers(ctx, "")
	if err != nil {
		return nil, err
	}
	type key struct{ namespace, name string }
	newest := map[key]*runtimeapi.PodSandbox{}
	for _, sb := range sandboxes {
		l := sb.GetLabels()
		if l[agent.LabelPodUID] == "" {
			continue
		}
		k := key{l[agent.LabelPodNamespace], l[agent.LabelPodName]}
		if cur, ok := newest[k]; !ok || sb.CreatedAt > cur.CreatedAt {
			newest[k] = sb
		}
	}
	running := map[string][]*runtimeapi.Container{} // by sandbox
	for _, c := range containers {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			running[c.PodSandboxId] = append(running[c.PodSandboxId], c)
		}
	}
	out := make([]stats.Pod, 0, len(newest))
	for k, sb := range newest {
		pod := stats.Pod{Namespace: k.namespace, Name: k.name, UID: sb.GetLabels()[agent.LabelPodUID], StartTime: time.Unix(0, sb.CreatedAt)}
		if cg, err := s.cgroups.PodCgroup(sb.Id); err == nil {
			pod.Cgroup = cg
		}
		for _, c := range running[sb.Id] {
			cg, err := s.cgroups.ContainerCgroup(c.Id)
			if err != nil || cg == "" {
				continue // removed meanwhile
			}
			pod.Containers = append(pod.Containers, stats.Container{Name: c.GetMetadata().GetName(), StartTime: time.Unix(0, c.CreatedAt), Cgroup: cg})
		}
		out = append(out, pod)
	}
	slices.SortFunc(out, func(a, b stats.Pod) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}
