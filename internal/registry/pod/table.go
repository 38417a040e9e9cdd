package pod

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// nodeLostReason is the status.reason the node lifecycle controller gives pods on a
// node that stopped reporting.
const nodeLostReason = "NodeLost"

// Columns returns upstream's pod columns; the priority 1 ones show with -o wide.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	meta := metav1.ObjectMeta{}.SwaggerDoc()
	spec := corev1.PodSpec{}.SwaggerDoc()
	status := corev1.PodStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: meta["name"]},
		{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
		{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
		{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		{Name: "Age", Type: "string", Description: meta["creationTimestamp"]},
		{Name: "IP", Type: "string", Priority: 1, Description: status["podIP"]},
		{Name: "Node", Type: "string", Priority: 1, Description: spec["nodeName"]},
		{Name: "Nominated Node", Type: "string", Priority: 1, Description: status["nominatedNodeName"]},
		{Name: "Readiness Gates", Type: "string", Priority: 1, Description: spec["readinessGates"]},
	}
}

// Row returns the cells of Columns for obj as of now.
func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	pod := asPod(obj)
	s := summarize(pod)
	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, since(s.lastRestart, now))
	}
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.status,
		restarts,
		since(pod.CreationTimestamp.Time, now),
		orNone(podIP(pod)),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}
}

func since(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// readinessGates returns "true/total" over the pod's readiness gates, or "<none>".
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	met := 0
	for _, gate := range pod.Spec.ReadinessGates {
		if c := findCondition(pod.Status.Conditions, gate.ConditionType); c != nil && c.Status == corev1.ConditionTrue {
			met++
		}
	}
	return fmt.Sprintf("%d/%d", met, len(pod.Spec.ReadinessGates))
}

func findCondition(conditions []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conditions {
		if conditions[i].Type == t {
			return &conditions[i]
		}
	}
	return nil
}

func conditionTrue(conditions []corev1.PodCondition, t corev1.PodConditionType) bool {
	c := findCondition(conditions, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// isSidecar reports whether c is an init container that keeps running beside the
// app containers (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// podSummary is what the READY, STATUS and RESTARTS columns show.
type podSummary struct {
	ready, total int
	status       string
	restarts     int
	lastRestart  time.Time // when the most recently restarted counted container last exited
}

// restartCounter sums restart counts and remembers the latest previous exit.
type restartCounter struct {
	count int
	last  time.Time
}

func (r *restartCounter) add(st *corev1.ContainerStatus) {
	r.count += int(st.RestartCount)
	if t := st.LastTerminationState.Terminated; t != nil && t.FinishedAt.Time.After(r.last) {
		r.last = t.FinishedAt.Time
	}
}

// summarize computes the pod's READY, STATUS and RESTARTS as upstream's printPod
// does. STATUS starts from the phase (or status.reason) and is refined by the init
// containers while the pod initializes, then by the app containers, last first.
// Sidecars count toward READY, and their restarts always count.
func summarize(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers), status: string(pod.Status.Phase)}
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.status = corev1.PodReasonSchedulingGated
		}
	}

	inits := map[string]*corev1.Container{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		inits[c.Name] = c
		if isSidecar(c) {
			s.total++
		}
	}

	var all, sidecars restartCounter
	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		st := &pod.Status.InitContainerStatuses[i]
		all.add(st)
		sidecar := isSidecar(inits[st.Name])
		if sidecar {
			sidecars.add(st)
		}
		term, wait := st.State.Terminated, st.State.Waiting
		if term != nil && term.ExitCode == 0 {
			continue
		}
		if sidecar && st.Started != nil && *st.Started {
			if st.Ready {
				s.ready++
			}
			continue
		}
		// This init container is the one the pod waits for.
		initializing = true
		switch {
		case term != nil && term.Reason != "":
			s.status = "Init:" + term.Reason
		case term != nil && term.Signal != 0:
			s.status = fmt.Sprintf("Init:Signal:%d", term.Signal)
		case term != nil:
			s.status = fmt.Sprintf("Init:ExitCode:%d", term.ExitCode)
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			s.status = "Init:" + wait.Reason
		default:
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		break
	}
	s.restarts, s.lastRestart = all.count, all.last

	if !initializing || conditionTrue(pod.Status.Conditions, corev1.PodInitialized) {
		counted := sidecars
		running := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			st := &pod.Status.ContainerStatuses[i]
			counted.add(st)
			term, wait := st.State.Terminated, st.State.Waiting
			switch {
			case wait != nil && wait.Reason != "":
				s.status = wait.Reason
			case term != nil && term.Reason != "":
				s.status = term.Reason
			case term != nil && term.Signal != 0:
				s.status = fmt.Sprintf("Signal:%d", term.Signal)
			case term != nil:
				s.status = fmt.Sprintf("ExitCode:%d", term.ExitCode)
			case st.Ready && st.State.Running != nil:
				running = true
				s.ready++
			}
		}
		// A finished container does not make the pod Completed while another runs.
		if s.status == "Completed" && running {
			s.status = "NotReady"
			if conditionTrue(pod.Status.Conditions, corev1.PodReady) {
				s.status = "Running"
			}
		}
		s.restarts, s.lastRestart = counted.count, counted.last
	}

	if pod.DeletionTimestamp != nil {
		switch {
		case pod.Status.Reason == nodeLostReason:
			s.status = "Unknown"
		case pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed:
			s.status = "Terminating"
		}
	}
	return s
}
