package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Name is the scheduler's name in pods' spec.schedulerName.
const Name = corev1.DefaultSchedulerName

// Scheduler binds pending pods to nodes.
type Scheduler struct {
	client   kubernetes.Interface
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	loop     *reconcile.Loop
	recorder record.EventRecorder
	log      *slog.Logger
}

// New returns a scheduler on factory's informers, which the caller starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Scheduler, error) {
	s := &Scheduler{client: client, log: log}
	s.loop = reconcile.New("scheduler", s.schedule, log)
	podInf, nodeInf := factory.Core().V1().Pods(), factory.Core().V1().Nodes()
	s.pods, s.nodes = podInf.Lister(), nodeInf.Lister()
	if _, err := podInf.Informer().AddEventHandler(s.loop.Handler(func(obj any) string {
		if p, ok := obj.(*corev1.Pod); ok && pending(p) {
			return p.Namespace + "/" + p.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	// A node that appears or changes may fit pods that did not fit before.
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.requeueAll() },
		UpdateFunc: func(old, cur any) { s.requeueIfChanged(old.(*corev1.Node), cur.(*corev1.Node)) },
	}); err != nil {
		return nil, err
	}
	return s, nil
}

func pending(p *corev1.Pod) bool {
	return p.Spec.NodeName == "" && p.DeletionTimestamp == nil && (p.Spec.SchedulerName == "" || p.Spec.SchedulerName == Name) &&
		p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

func (s *Scheduler) requeueAll() {
	pods, _ := s.pods.List(labels.Everything())
	for _, p := range pods {
		if pending(p) {
			s.loop.Add(p.Namespace + "/" + p.Name)
		}
	}
}

func (s *Scheduler) requeueIfChanged(old, cur *corev1.Node) {
	if nodeReady(old) != nodeReady(cur) || old.Spec.Unschedulable != cur.Spec.Unschedulable {
		s.requeueAll()
	}
}

// Run schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	// The broadcaster lives as long as the process: events of work still finishing
	// when ctx ends are sent rather than refused.
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	s.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Name})
	s.loop.Run(ctx, 2)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// schedule binds one pod, or reports why it cannot be placed and retries later.
func (s *Scheduler) schedule(ctx context.Context, key string) (time.Duration, error) {
	ns, name, _ := strings.Cut(key, "/")
	pod, err := s.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && !pending(pod)) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	nodes, err := s.nodes.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	reasons := map[string]int{}
	var fits []*corev1.Node
	for _, n := range nodes {
		switch {
		case !nodeReady(n):
			reasons["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"]++
		case n.Spec.Unschedulable:
			reasons["node(s) were unschedulable"]++
		default:
			fits = append(fits, n)
		}
	}
	if len(fits) == 0 {
		msg := fmt.Sprintf("0/%d nodes are available", len(nodes))
		if len(reasons) > 0 {
			var parts []string
			for r, n := range reasons {
				parts = append(parts, fmt.Sprintf("%d %s", n, r))
			}
			sort.Strings(parts)
			msg += ": " + strings.Join(parts, ", ")
		}
		msg += ". preemption: 0/" + fmt.Sprint(len(nodes)) + " nodes are available: " + fmt.Sprint(len(nodes)) + " Preemption is not helpful for scheduling."
		s.unschedulable(ctx, pod, msg)
		// Node changes requeue it at once; this is the fallback, upstream's 5 minutes.
		return 5 * time.Minute, nil
	}
	best := s.leastLoaded(fits)
	err = s.client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: best.Name},
	}, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return 0, nil // bound or deleted meanwhile
	}
	if err != nil {
		return 0, err
	}
	s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", ns, name, best.Name)
	return 0, nil
}

// leastLoaded returns the node with the fewest pods, by name among equals.
func (s *Scheduler) leastLoaded(nodes []*corev1.Node) *corev1.Node {
	count := map[string]int{}
	if pods, err := s.pods.List(labels.Everything()); err == nil {
		for _, p := range pods {
			count[p.Spec.NodeName]++
		}
	}
	sort.Slice(nodes, func(i, j int) bool {
		if count[nodes[i].Name] != count[nodes[j].Name] {
			return count[nodes[i].Name] < count[nodes[j].Name]
		}
		return nodes[i].Name < nodes[j].Name
	})
	return nodes[0]
}

// unschedulable records FailedScheduling and the PodScheduled=False condition.
func (s *Scheduler) unschedulable(ctx context.Context, pod *corev1.Pod, msg string) {
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message == msg {
			return
		}
	}
	next := pod.DeepCopy()
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: msg, LastTransitionTime: metav1.Now()}
	replaced := false
	for i := range next.Status.Conditions {
		if next.Status.Conditions[i].Type == corev1.PodScheduled {
			next.Status.Conditions[i], replaced = cond, true
		}
	}
	if !replaced {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	if _, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		s.log.Warn("recording an unschedulable pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}
