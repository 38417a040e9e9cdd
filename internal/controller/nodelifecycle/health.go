package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons and messages of the conditions the controller writes, upstream's.
const (
	reasonUnknown       = "NodeStatusUnknown"
	messageUnknown      = "Kubelet stopped posting node status."
	reasonNeverUpdated  = "NodeStatusNeverUpdated"
	messageNeverUpdated = "Kubelet never posted node status."
)

// unknownConditions are the conditions that turn Unknown with a silent node.
// NetworkUnavailable is left alone: the network, not the agent, reports it.
var unknownConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// health is what the controller last saw of a node's signs of life. Times are the
// controller's own, not the node's, so that clock skew between them does not matter.
type health struct {
	// probe is when the controller last saw a sign of life: a new Ready heartbeat or a
	// newer Lease renewal.
	probe time.Time
	// hasReady tells whether the node had a Ready condition; heartbeat is its
	// lastHeartbeatTime.
	hasReady  bool
	heartbeat metav1.Time
	// renew is the Lease's renewTime as last seen; nil before any.
	renew *metav1.MicroTime
	// status is the node's Ready status after the controller's last pass, "" when it
	// has none.
	status corev1.ConditionStatus
}

// observe folds what node and its lease (nil when there is none) show into h (nil for a
// node not seen before) at now, and returns the result and the grace period the node is
// entitled to. h is not modified.
func observe(h *health, node *corev1.Node, lease *coordinationv1.Lease, now time.Time, cfg Config) (*health, time.Duration) {
	var next health
	if h != nil {
		next = *h
	}
	ready := condition(node.Status.Conditions, corev1.NodeReady)
	grace := cfg.GracePeriod
	switch {
	case ready == nil:
		grace = cfg.StartupGracePeriod
		if h == nil {
			next = health{probe: node.CreationTimestamp.Time}
		} else if h.hasReady {
			next = health{probe: now}
		}
	case h == nil || !h.hasReady:
		next = health{probe: now}
	case !h.heartbeat.Equal(&ready.LastHeartbeatTime):
		next.probe = now
	}
	next.hasReady = ready != nil
	next.heartbeat = metav1.Time{}
	if ready != nil {
		next.heartbeat = ready.LastHeartbeatTime
	}
	if lease != nil && lease.Spec.RenewTime != nil && (next.renew == nil || next.renew.Before(lease.Spec.RenewTime)) {
		next.renew = lease.Spec.RenewTime.DeepCopy()
		next.probe = now
	}
	return &next, grace
}

// markUnknown sets the conditions of a node silent since before its grace period to
// Unknown, keeping their heartbeats, and adds those it never posted. It reports whether
// the Ready condition changed.
func markUnknown(st *corev1.NodeStatus, created metav1.Time, now metav1.Time) bool {
	readyChanged := false
	for _, typ := range unknownConditions {
		c := condition(st.Conditions, typ)
		switch {
		case c == nil:
			st.Conditions = append(st.Conditions, corev1.NodeCondition{Type: typ, Status: corev1.ConditionUnknown,
				Reason: reasonNeverUpdated, Message: messageNeverUpdated, LastHeartbeatTime: created, LastTransitionTime: now})
		case c.Status != corev1.ConditionUnknown:
			c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, now
		default:
			continue
		}
		if typ == corev1.NodeReady {
			readyChanged = true
		}
	}
	return readyChanged
}

// condition returns the condition of type typ in conds, or nil.
func condition(conds []corev1.NodeCondition, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// readyStatus returns the status of node's Ready condition, "" when it has none.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := condition(node.Status.Conditions, corev1.NodeReady); c != nil {
		return c.Status
	}
	return ""
}
