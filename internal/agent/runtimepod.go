package agent

import (
	"context"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
)

// snapshot is what the runtime holds, by pod UID.
type snapshot map[types.UID]*RuntimePod

// takeSnapshot reads the sandboxes and containers of one pod (only), or of every pod
// when only is "", from the runtime. Containers of older sandboxes of a pod are kept
// after the newest sandbox's, so that restart counts and last states carry over.
func takeSnapshot(ctx context.Context, rt runtime.Runtime, dirs podDirs, only types.UID) (snapshot, map[types.UID][]string, error) {
	var filter *runtimeapi.PodSandboxFilter
	if only != "" {
		filter = &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{LabelPodUID: string(only)}}
	}
	sandboxes, err := rt.ListPodSandbox(ctx, filter)
	if err != nil {
		return nil, nil, err
	}
	snap := snapshot{}
	ids := map[types.UID][]string{} // every sandbox ID of a pod, newest first
	sort.Slice(sandboxes, func(i, j int) bool {
		if sandboxes[i].GetMetadata().GetAttempt() != sandboxes[j].GetMetadata().GetAttempt() {
			return sandboxes[i].GetMetadata().GetAttempt() > sandboxes[j].GetMetadata().GetAttempt()
		}
		return sandboxes[i].CreatedAt > sandboxes[j].CreatedAt
	})
	for _, sb := range sandboxes {
		uid := types.UID(sb.GetLabels()[LabelPodUID])
		if uid == "" {
			continue
		}
		ids[uid] = append(ids[uid], sb.Id)
		rp := snap[uid]
		if rp == nil {
			rp = &RuntimePod{}
			snap[uid] = rp
			st := &SandboxState{ID: sb.Id, Ready: sb.State == runtimeapi.PodSandboxState_SANDBOX_READY,
				Attempt: sb.GetMetadata().GetAttempt(), Created: time.Unix(0, sb.CreatedAt)}
			if status, err := rt.PodSandboxStatus(ctx, sb.Id); err == nil && status.GetNetwork() != nil {
				st.IP = status.GetNetwork().GetIp()
			}
			rp.Sandbox = st
		}
		containers, err := rt.ListContainers(ctx, sb.Id)
		if err != nil {
			return nil, nil, err
		}
		var states []*ContainerState
		for _, c := range containers {
			status, err := rt.ContainerStatus(ctx, c.Id)
			if err != nil {
				continue // removed meanwhile
			}
			states = append(states, containerState(status, c.GetLabels(), dirs, uid))
		}
		sort.SliceStable(states, func(i, j int) bool { return states[i].Attempt > states[j].Attempt })
		rp.Containers = append(rp.Containers, states...)
	}
	return snap, ids, nil
}

// signatures summarizes every pod's runtime state cheaply, from the runtime's lists
// alone; a change means the pod's worker should look.
func signatures(ctx context.Context, rt runtime.Runtime) (map[types.UID]string, error) {
	sandboxes, err := rt.ListPodSandbox(ctx, nil)
	if err != nil {
		return nil, err
	}
	containers, err := rt.ListContainers(ctx, "")
	if err != nil {
		return nil, err
	}
	owner := map[string]types.UID{}
	parts := map[types.UID][]string{}
	for _, sb := range sandboxes {
		uid := types.UID(sb.GetLabels()[LabelPodUID])
		if uid == "" {
			continue
		}
		owner[sb.Id] = uid
		parts[uid] = append(parts[uid], sb.Id+sb.State.String())
	}
	for _, c := range containers {
		if uid, ok := owner[c.PodSandboxId]; ok {
			parts[uid] = append(parts[uid], c.Id+c.State.String())
		}
	}
	out := make(map[types.UID]string, len(parts))
	for uid, p := range parts {
		sort.Strings(p)
		out[uid] = strings.Join(p, "|")
	}
	return out, nil
}

func containerState(s *runtimeapi.ContainerStatus, labels map[string]string, dirs podDirs, uid types.UID) *ContainerState {
	c := &ContainerState{
		ID:        s.Id,
		Name:      s.GetMetadata().GetName(),
		Attempt:   s.GetMetadata().GetAttempt(),
		Hash:      labels[LabelContainerHash],
		Init:      labels[LabelInit] == "true",
		State:     s.State,
		ExitCode:  s.ExitCode,
		Reason:    s.Reason,
		Message:   s.Message,
		Image:     s.GetImage().GetImage(),
		ImageRef:  s.ImageRef,
		Resources: s.GetResources().GetLinux(),
	}
	if s.CreatedAt > 0 {
		c.Created = time.Unix(0, s.CreatedAt)
	}
	if s.StartedAt > 0 {
		c.Started = time.Unix(0, s.StartedAt)
	}
	if s.FinishedAt > 0 {
		c.Finished = time.Unix(0, s.FinishedAt)
	}
	if c.Exited() && c.Message == "" {
		// The container's termination message, as it wrote it.
		if data, err := os.ReadFile(dirs.terminationLog(string(uid), c.Name, c.Attempt)); err == nil {
			msg := strings.TrimSpace(string(data))
			if len(msg) > 4096 {
				msg = msg[:4096]
			}
			c.Message = msg
		}
	}
	return c
}
