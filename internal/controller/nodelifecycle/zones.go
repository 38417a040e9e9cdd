package nodelifecycle

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
)

// zoneState is how healthy the nodes of a zone are, for the rate of NoExecute tainting.
type zoneState string

const (
	zoneInitial zoneState = "Initial"
	zoneNormal  zoneState = "Normal"
	// zonePartial: at least the unhealthy threshold of the nodes, and more than two,
	// are not ready.
	zonePartial zoneState = "PartialDisruption"
	// zoneFull: no node is ready.
	zoneFull zoneState = "FullDisruption"
)

// excludeDisruptionLabel keeps a node out of its zone's health.
const excludeDisruptionLabel = "node.kubernetes.io/exclude-disruption"

// zoneKey returns the zone a node is in, from its region and zone labels; "" for none.
func zoneKey(node *corev1.Node) string {
	region := node.Labels[corev1.LabelTopologyRegion]
	if region == "" {
		region = node.Labels[corev1.LabelFailureDomainBetaRegion]
	}
	zone := node.Labels[corev1.LabelTopologyZone]
	if zone == "" {
		zone = node.Labels[corev1.LabelFailureDomainBetaZone]
	}
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

// computeZoneState returns the state of a zone whose nodes' Ready statuses are ready.
func computeZoneState(ready []corev1.ConditionStatus, unhealthyThreshold float32) zoneState {
	up, down := 0, 0
	for _, s := range ready {
		if s == corev1.ConditionTrue {
			up++
		} else {
			down++
		}
	}
	switch {
	case up == 0 && down > 0:
		return zoneFull
	case down > 2 && float32(down)/float32(up+down) >= unhealthyThreshold:
		return zonePartial
	default:
		return zoneNormal
	}
}

// zone holds the nodes of one zone waiting for a NoExecute taint, and the rate at which
// they get it.
type zone struct {
	state zoneState
	qps   float32
	// limiter hands out one token per node tainted; nil while tainting is stopped.
	limiter flowcontrol.PassiveRateLimiter
	// queue holds node names in the order they became not ready; queued is its set.
	queue  []string
	queued map[string]bool
}

func newZone(qps float32, clk clock.PassiveClock) *zone {
	z := &zone{state: zoneInitial, queued: map[string]bool{}}
	z.setRate(qps, clk)
	return z
}

// setRate changes the zone's tainting rate; 0 stops tainting. A zone whose token is
// spent stays spent under the new rate.
func (z *zone) setRate(qps float32, clk clock.PassiveClock) {
	if z.limiter != nil && qps == z.qps {
		return
	}
	spent := z.limiter != nil && !z.limiter.TryAccept()
	z.qps, z.limiter = qps, nil
	if qps <= 0 {
		return
	}
	z.limiter = flowcontrol.NewTokenBucketPassiveRateLimiterWithClock(qps, 1, clk)
	if spent {
		z.limiter.TryAccept()
	}
}

func (z *zone) add(name string) {
	if !z.queued[name] {
		z.queued[name] = true
		z.queue = append(z.queue, name)
	}
}

func (z *zone) remove(name string) {
	if !z.queued[name] {
		return
	}
	delete(z.queued, name)
	for i, n := range z.queue {
		if n == name {
			z.queue = append(z.queue[:i], z.queue[i+1:]...)
			return
		}
	}
}
