package podautoscaler

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// history is what the controller remembers of one autoscaler between syncs: its recent
// recommendations, before stabilization and limits, and the changes it made to the
// target's replicas. Only the worker syncing the autoscaler touches it.
type history struct {
	recommendations []recommendation
	ups, downs      []scaleChange
}

type recommendation struct {
	replicas int32
	at       time.Time
}

// scaleChange is a change of the target's replicas, by replicas (> 0) at at.
type scaleChange struct {
	replicas int32
	at       time.Time
}

// limit is a replica count after stabilization and limits, with the reason and
// message of the ScalingLimited condition.
type limit struct {
	replicas        int32
	reason, message string
}

const (
	withinRange        = "DesiredWithinRange"
	withinRangeMessage = "the desired count is within the acceptable range"
)

// stabilizeLegacy, for an autoscaler without spec.behavior, records desired at now
// and returns the highest recommendation since window ago, desired included.
func (h *history) stabilizeLegacy(now time.Time, desired int32, window time.Duration) int32 {
	cutoff := now.Add(-window)
	highest := desired
	kept := h.recommendations[:0]
	for _, r := range h.recommendations {
		if r.at.Before(cutoff) {
			continue
		}
		highest = max(highest, r.replicas)
		kept = append(kept, r)
	}
	h.recommendations = append(kept, recommendation{desired, now})
	return highest
}

// stabilize, for an autoscaler with spec.behavior, records desired at now and returns
// current moved toward desired no further than the recommendations of each
// direction's window allow: up to the lowest since upWindow ago, down to the highest
// since downWindow ago (desired included in both). It also returns the reason and
// message of the AbleToScale condition should the result differ from desired.
func (h *history) stabilize(now time.Time, current, desired int32, upWindow, downWindow time.Duration) (int32, string, string) {
	upCutoff, downCutoff := now.Add(-upWindow), now.Add(-downWindow)
	up, down := desired, desired
	kept := h.recommendations[:0]
	for _, r := range h.recommendations {
		if r.at.After(upCutoff) {
			up = min(up, r.replicas)
		}
		if r.at.After(downCutoff) {
			down = max(down, r.replicas)
		}
		if r.at.Before(upCutoff) && r.at.Before(downCutoff) {
			continue
		}
		kept = append(kept, r)
	}
	h.recommendations = append(kept, recommendation{desired, now})
	stabilized := min(max(current, up), down)
	if desired >= current {
		return stabilized, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
	}
	return stabilized, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
}

// limitLegacy clamps desired, for an autoscaler without spec.behavior, to
// [minReplicas, maxReplicas] and to at most max(2×current, 4).
func limitLegacy(current, desired, minReplicas, maxReplicas int32) limit {
	upper := int32(math.Max(2*float64(current), 4))
	reason, message := "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	if maxReplicas <= upper {
		upper = maxReplicas
		reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	}
	switch {
	case desired < minReplicas:
		return limit{minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"}
	case desired > upper:
		return limit{upper, reason, message}
	}
	return limit{desired, withinRange, withinRangeMessage}
}

// limitWithRules clamps desired, for an autoscaler with spec.behavior, to
// [minReplicas, maxReplicas] and to what the rules of its direction allow at now.
func (h *history) limitWithRules(now time.Time, current, desired, minReplicas, maxReplicas int32, up, down *autoscalingv2.HPAScalingRules) limit {
	switch {
	case desired > current:
		upper := max(h.upLimit(now, current, up), current)
		reason, message := "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		if maxReplicas <= upper {
			upper = maxReplicas
			reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		}
		if desired > upper {
			return limit{upper, reason, message}
		}
	case desired < current:
		lower := min(h.downLimit(now, current, down), current)
		reason, message := "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		if minReplicas >= lower {
			lower = minReplicas
			reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		}
		if desired < lower {
			return limit{lower, reason, message}
		}
	}
	return limit{desired, withinRange, withinRangeMessage}
}

// upLimit is the most replicas rules allow at now: each policy allows its value (pods,
// or percent rounded up) more than the replicas at the start of its period, found by
// undoing the changes made since; selectPolicy Max takes the most, Min the least, and
// Disabled allows no change.
func (h *history) upLimit(now time.Time, current int32, rules *autoscalingv2.HPAScalingRules) int32 {
	sel := selectPolicy(rules)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MinInt32), maxInt32
	if sel == autoscalingv2.MinChangePolicySelect {
		result, pick = math.MaxInt32, minInt32
	}
	for _, p := range rules.Policies {
		start := current - changedSince(h.ups, now, p.PeriodSeconds) + changedSince(h.downs, now, p.PeriodSeconds)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// downLimit is the fewest replicas rules allow at now: each policy allows its value
// (pods, or percent rounded down) fewer than the replicas at the start of its period;
// selectPolicy Max takes the fewest, Min the most, and Disabled allows no change.
func (h *history) downLimit(now time.Time, current int32, rules *autoscalingv2.HPAScalingRules) int32 {
	sel := selectPolicy(rules)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result, pick := int32(math.MaxInt32), minInt32
	if sel == autoscalingv2.MinChangePolicySelect {
		result, pick = math.MinInt32, maxInt32
	}
	for _, p := range rules.Policies {
		start := current - changedSince(h.ups, now, p.PeriodSeconds) + changedSince(h.downs, now, p.PeriodSeconds)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

func selectPolicy(rules *autoscalingv2.HPAScalingRules) autoscalingv2.ScalingPolicySelect {
	if rules.SelectPolicy == nil {
		return autoscalingv2.MaxChangePolicySelect
	}
	return *rules.SelectPolicy
}

func minInt32(a, b int32) int32 { return min(a, b) }
func maxInt32(a, b int32) int32 { return max(a, b) }

// changedSince sums the changes made in the last periodSeconds before now.
func changedSince(changes []scaleChange, now time.Time, periodSeconds int32) int32 {
	cutoff := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, c := range changes {
		if c.at.After(cutoff) {
			n += c.replicas
		}
	}
	return n
}

// recordChange records that the target went from prev to next replicas at now, for
// an autoscaler with spec.behavior; changes older than the longest period of their
// direction's policies are forgotten.
func (h *history) recordChange(now time.Time, prev, next int32, behavior *autoscalingv2.HorizontalPodAutoscalerBehavior) {
	if behavior == nil {
		return
	}
	if next > prev {
		h.ups = appendChange(h.ups, now, next-prev, behavior.ScaleUp)
	} else {
		h.downs = appendChange(h.downs, now, prev-next, behavior.ScaleDown)
	}
}

func appendChange(changes []scaleChange, now time.Time, replicas int32, rules *autoscalingv2.HPAScalingRules) []scaleChange {
	var longest int32
	if rules != nil {
		for _, p := range rules.Policies {
			longest = max(longest, p.PeriodSeconds)
		}
	}
	cutoff := now.Add(-time.Duration(longest) * time.Second)
	kept := changes[:0]
	for _, c := range changes {
		if !c.at.Before(cutoff) {
			kept = append(kept, c)
		}
	}
	return append(kept, scaleChange{replicas, now})
}

// completeBehavior returns behavior with every unset rule filled in as upstream's API
// defaults do (the API server normally has), and the scale-down stabilization window,
// when unset, from downWindow. behavior is not changed.
func completeBehavior(behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, downWindow time.Duration) *autoscalingv2.HorizontalPodAutoscalerBehavior {
	b := behavior.DeepCopy()
	maxChange := autoscalingv2.MaxChangePolicySelect
	if b.ScaleUp == nil {
		b.ScaleUp = &autoscalingv2.HPAScalingRules{}
	}
	if b.ScaleUp.StabilizationWindowSeconds == nil {
		b.ScaleUp.StabilizationWindowSeconds = new(int32)
	}
	if b.ScaleUp.SelectPolicy == nil {
		b.ScaleUp.SelectPolicy = &maxChange
	}
	if b.ScaleUp.Policies == nil {
		b.ScaleUp.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
	if b.ScaleDown == nil {
		b.ScaleDown = &autoscalingv2.HPAScalingRules{}
	}
	if b.ScaleDown.StabilizationWindowSeconds == nil {
		w := int32(downWindow.Seconds())
		b.ScaleDown.StabilizationWindowSeconds = &w
	}
	if b.ScaleDown.SelectPolicy == nil {
		b.ScaleDown.SelectPolicy = &maxChange
	}
	if b.ScaleDown.Policies == nil {
		b.ScaleDown.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
	return b
}
