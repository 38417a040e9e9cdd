package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	requiredNodeTerm = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
	requiredAffinity = "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
	preferredAnti    = "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]"
	spread0          = "spec.topologySpreadConstraints[0]"
)

// requireNodes sets a required node affinity of one term.
func requireNodes(p *corev1.Pod, term corev1.NodeSelectorTerm) {
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}},
	}}
}

// requirePods sets a required pod affinity of one term.
func requirePods(p *corev1.Pod, term corev1.PodAffinityTerm) {
	p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term},
	}}
}

// preferNotPods sets a preferred pod anti-affinity of one term.
func preferNotPods(p *corev1.Pod, weight int32, term corev1.PodAffinityTerm) {
	p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: weight, PodAffinityTerm: term}},
	}}
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

func nodeExpr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func selectorOf(reqs ...metav1.LabelSelectorRequirement) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: reqs}
}

func TestValidateNodeAffinity(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"every operator", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{
						nodeExpr("kubernetes.io/os", corev1.NodeSelectorOpIn, "linux"),
						nodeExpr("example.com/pool", corev1.NodeSelectorOpNotIn, "a", "b"),
						nodeExpr("gpu", corev1.NodeSelectorOpExists),
						nodeExpr("spot", corev1.NodeSelectorOpDoesNotExist),
						nodeExpr("cores", corev1.NodeSelectorOpGt, "4"),
						nodeExpr("cores", corev1.NodeSelectorOpLt, "64"),
					}},
					{MatchFields: []corev1.NodeSelectorRequirement{nodeExpr("metadata.name", corev1.NodeSelectorOpNotIn, "node-1")}},
				}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
					{Weight: 1, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("zone", corev1.NodeSelectorOpIn, "a")}}},
					// Preferred terms are not held to valid label values.
					{Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("zone", corev1.NodeSelectorOpIn, "not a value")}}},
				},
			}}
		}, nil},
		{"empty operator", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "key1"}}})
		}, []string{requiredNodeTerm + `.matchExpressions[0].operator: Invalid value: "": not a valid selector operator`}},
		{"unknown operator", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("key1", "Matches", "x")}})
		}, []string{requiredNodeTerm + `.matchExpressions[0].operator: Invalid value: "Matches": not a valid selector operator`}},
		{"invalid key", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("invalid key ___@#", corev1.NodeSelectorOpExists)}})
		}, []string{requiredNodeTerm + `.matchExpressions[0].key: Invalid value: "invalid key ___@#": name part must consist of alphanumeric characters`}},
		{"number of values", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				nodeExpr("a", corev1.NodeSelectorOpIn),
				nodeExpr("b", corev1.NodeSelectorOpNotIn),
				nodeExpr("c", corev1.NodeSelectorOpExists, "x"),
				nodeExpr("d", corev1.NodeSelectorOpDoesNotExist, "x"),
				nodeExpr("e", corev1.NodeSelectorOpGt, "1", "2"),
				nodeExpr("f", corev1.NodeSelectorOpLt),
			}})
		}, []string{
			requiredNodeTerm + ".matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
			requiredNodeTerm + ".matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
			requiredNodeTerm + ".matchExpressions[2].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
			requiredNodeTerm + ".matchExpressions[3].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
			requiredNodeTerm + ".matchExpressions[4].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
			requiredNodeTerm + ".matchExpressions[5].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
		}},
		{"invalid label value in a required term", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("key", corev1.NodeSelectorOpIn, "ok", "-bad-")}})
		}, []string{requiredNodeTerm + `.matchExpressions[0].values[1]: Invalid value: "-bad-": a valid label must be an empty string or consist of alphanumeric characters`}},
		{"field selector with two values", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{nodeExpr("metadata.name", corev1.NodeSelectorOpIn, "host1", "host2")}})
		}, []string{requiredNodeTerm + ".matchFields[0].values: Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector"}},
		{"field selector operator", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{nodeExpr("metadata.name", corev1.NodeSelectorOpExists)}})
		}, []string{requiredNodeTerm + `.matchFields[0].operator: Invalid value: "Exists": not a valid selector operator`}},
		{"field selector key", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{nodeExpr("metadata.namespace", corev1.NodeSelectorOpIn, "ns1")}})
		}, []string{requiredNodeTerm + `.matchFields[0].key: Invalid value: "metadata.namespace": not a valid field selector key`}},
		{"field selector node name", func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{nodeExpr("metadata.name", corev1.NodeSelectorOpIn, "Node_1")}})
		}, []string{requiredNodeTerm + `.matchFields[0].values[0]: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must consist of`}},
		{"no terms", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{},
			}}
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term"}},
		{"preferred weights and terms", func(p *corev1.Pod) {
			pref := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("foo", corev1.NodeSelectorOpIn, "bar")}}
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
					{Weight: 199, Preference: pref},
					{Weight: 0, Preference: pref},
					{Weight: 5, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("foo", corev1.NodeSelectorOpIn)}}},
				},
			}}
		}, []string{
			"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 199: must be in the range 1-100",
			"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[1].weight: Invalid value: 0: must be in the range 1-100",
			"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[2].preference.matchExpressions[0].values: Required value",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			tt.mutate(pod)
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

func TestValidatePodAffinity(t *testing.T) {
	zoneTerm := func(sel *metav1.LabelSelector) corev1.PodAffinityTerm {
		return corev1.PodAffinityTerm{LabelSelector: sel, TopologyKey: "topology.kubernetes.io/zone"}
	}
	tests := []struct {
		name   string
		labels map[string]string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "affinity and anti-affinity", labels: map[string]string{"app": "web", "tenant": "a"}, mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{
				PodAffinity: &corev1.PodAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector:     selectorOf(expr("role", metav1.LabelSelectorOpIn, "cache")),
						Namespaces:        []string{"default", "cache"},
						TopologyKey:       "kubernetes.io/hostname",
						MatchLabelKeys:    []string{"tenant"},
						MismatchLabelKeys: []string{"app"},
					}},
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
						Weight: 100,
						PodAffinityTerm: corev1.PodAffinityTerm{
							LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"role": "db"}},
							NamespaceSelector: &metav1.LabelSelector{},
							TopologyKey:       "topology.kubernetes.io/zone",
						},
					}},
				},
				PodAntiAffinity: &corev1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
						zoneTerm(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}),
					},
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
						Weight:          1,
						PodAffinityTerm: zoneTerm(selectorOf(expr("app", metav1.LabelSelectorOpExists))),
					}},
				},
			}
		}},
		{name: "weight out of range", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight:          109,
					PodAffinityTerm: zoneTerm(selectorOf(expr("key2", metav1.LabelSelectorOpNotIn, "value1", "value2"))),
				}},
			}}
		}, want: []string{"spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 109: must be in the range 1-100"}},
		{name: "label selector Exists with values", mutate: func(p *corev1.Pod) {
			preferNotPods(p, 10, zoneTerm(selectorOf(expr("key2", metav1.LabelSelectorOpExists, "value1", "value2"))))
		}, want: []string{preferredAnti + ".podAffinityTerm.labelSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"}},
		{name: "namespace selector In without values", mutate: func(p *corev1.Pod) {
			term := zoneTerm(nil)
			term.NamespaceSelector = selectorOf(expr("key2", metav1.LabelSelectorOpIn))
			preferNotPods(p, 10, term)
		}, want: []string{preferredAnti + ".podAffinityTerm.namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"}},
		{name: "label selector value", mutate: func(p *corev1.Pod) {
			requirePods(p, zoneTerm(selectorOf(expr("app", metav1.LabelSelectorOpIn, "a b"))))
		}, want: []string{requiredAffinity + `.labelSelector.matchExpressions[0].values[0]: Invalid value: "a b"`}},
		{name: "namespace name", mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("key2", metav1.LabelSelectorOpExists)))
			term.Namespaces = []string{"ok", "INVALID_NAMESPACE"}
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 10, PodAffinityTerm: term}},
			}}
		}, want: []string{`spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.namespace: Invalid value: "INVALID_NAMESPACE": a lowercase RFC 1123 label must consist of`}},
		{name: "empty topology key, required affinity", mutate: func(p *corev1.Pod) {
			requirePods(p, corev1.PodAffinityTerm{LabelSelector: selectorOf(expr("key2", metav1.LabelSelectorOpIn, "value1"))})
		}, want: []string{
			requiredAffinity + ".topologyKey: Required value: can not be empty",
			requiredAffinity + `.topologyKey: Invalid value: "": name part must be non-empty`,
			requiredAffinity + `.topologyKey: Invalid value: "": name part must consist of alphanumeric characters`,
		}},
		{name: "empty topology key, preferred anti-affinity", mutate: func(p *corev1.Pod) {
			preferNotPods(p, 10, corev1.PodAffinityTerm{LabelSelector: selectorOf(expr("key2", metav1.LabelSelectorOpNotIn, "value1"))})
		}, want: []string{
			preferredAnti + ".podAffinityTerm.topologyKey: Required value: can not be empty",
			preferredAnti + `.podAffinityTerm.topologyKey: Invalid value: "": name part must be non-empty`,
			preferredAnti + `.podAffinityTerm.topologyKey: Invalid value: "": name part must consist of alphanumeric characters`,
		}},
		{name: "invalid topology key", mutate: func(p *corev1.Pod) {
			requirePods(p, corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{}, TopologyKey: "zone/"})
		}, want: []string{requiredAffinity + `.topologyKey: Invalid value: "zone/": name part must be non-empty`,
			requiredAffinity + `.topologyKey: Invalid value: "zone/": name part must consist of alphanumeric characters`}},
		{name: "invalid matchLabelKeys and mismatchLabelKeys", mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("key", metav1.LabelSelectorOpIn, "value1")))
			term.MatchLabelKeys = []string{"/simple"}
			term.MismatchLabelKeys = []string{"ok", "/other"}
			preferNotPods(p, 10, term)
		}, want: []string{
			preferredAnti + `.podAffinityTerm.matchLabelKeys[0]: Invalid value: "/simple": prefix part must be non-empty`,
			preferredAnti + `.podAffinityTerm.mismatchLabelKeys[1]: Invalid value: "/other": prefix part must be non-empty`,
		}},
		{name: "label keys without a label selector", mutate: func(p *corev1.Pod) {
			term := zoneTerm(nil)
			term.MatchLabelKeys = []string{"a"}
			term.MismatchLabelKeys = []string{"b"}
			requirePods(p, term)
		}, want: []string{
			requiredAffinity + ".matchLabelKeys: Forbidden: must not be specified when labelSelector is not set",
			requiredAffinity + ".mismatchLabelKeys: Forbidden: must not be specified when labelSelector is not set",
		}},
		{name: "key in matchLabelKeys and twice in the selector", mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("other", metav1.LabelSelectorOpExists), expr("key", metav1.LabelSelectorOpIn, "value1"), expr("key", metav1.LabelSelectorOpNotIn, "value2")))
			term.MatchLabelKeys = []string{"other", "key"}
			requirePods(p, term)
		}, want: []string{requiredAffinity + `[1]: Invalid value: "key": exists in both matchLabelKeys and labelSelector`}},
		{name: "key in matchLabelKeys and matchLabels, and in an expression", mutate: func(p *corev1.Pod) {
			term := zoneTerm(&metav1.LabelSelector{MatchLabels: map[string]string{"key": "value1"}, MatchExpressions: []metav1.LabelSelectorRequirement{expr("key", metav1.LabelSelectorOpNotIn, "value2")}})
			term.MatchLabelKeys = []string{"key"}
			preferNotPods(p, 10, term)
		}, want: []string{preferredAnti + `.podAffinityTerm[0]: Invalid value: "key": exists in both matchLabelKeys and labelSelector`}},
		{name: "key in matchLabelKeys and in the selector, pod without the label", mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("key", metav1.LabelSelectorOpNotIn, "value2")))
			term.MatchLabelKeys = []string{"key"}
			requirePods(p, term)
		}},
		// Upstream merges `key in (value1)` into the selector on create, which then
		// names the key twice.
		{name: "key in matchLabelKeys and in the selector, pod with the label", labels: map[string]string{"key": "value1"}, mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("key", metav1.LabelSelectorOpNotIn, "value2")))
			term.MatchLabelKeys = []string{"key"}
			requirePods(p, term)
		}, want: []string{requiredAffinity + `[0]: Invalid value: "key": exists in both matchLabelKeys and labelSelector`}},
		{name: "key in matchLabelKeys and mismatchLabelKeys", mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("key", metav1.LabelSelectorOpExists)))
			term.MatchLabelKeys = []string{"samekey"}
			term.MismatchLabelKeys = []string{"samekey"}
			requirePods(p, term)
		}, want: []string{requiredAffinity + `.matchLabelKeys[0]: Invalid value: "samekey": exists in both matchLabelKeys and mismatchLabelKeys`}},
		{name: "key in matchLabelKeys and mismatchLabelKeys, pod with the label", labels: map[string]string{"samekey": "v"}, mutate: func(p *corev1.Pod) {
			term := zoneTerm(selectorOf(expr("key", metav1.LabelSelectorOpExists)))
			term.MatchLabelKeys = []string{"samekey"}
			term.MismatchLabelKeys = []string{"samekey"}
			preferNotPods(p, 10, term)
		}, want: []string{
			preferredAnti + `.podAffinityTerm[0]: Invalid value: "samekey": exists in both matchLabelKeys and labelSelector`,
			preferredAnti + `.podAffinityTerm.matchLabelKeys[0]: Invalid value: "samekey": exists in both matchLabelKeys and mismatchLabelKeys`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			pod.Labels = tt.labels
			tt.mutate(pod)
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

func TestValidateTopologySpreadConstraints(t *testing.T) {
	honor, ignore, unknown := corev1.NodeInclusionPolicyHonor, corev1.NodeInclusionPolicyIgnore, corev1.NodeInclusionPolicy("Unknown")
	zone := func(c corev1.TopologySpreadConstraint) corev1.TopologySpreadConstraint {
		c.TopologyKey = "k8s.io/zone"
		return c
	}
	tests := []struct {
		name        string
		labels      map[string]string
		constraints []corev1.TopologySpreadConstraint
		want        []string
	}{
		{name: "valid", labels: map[string]string{"app": "web", "pod-template-hash": "abc"}, constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, MinDomains: ptr.To[int32](3),
				NodeAffinityPolicy: &honor, NodeTaintsPolicy: &ignore,
				LabelSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				MatchLabelKeys: []string{"pod-template-hash"}}),
			{MaxSkew: 2, TopologyKey: "k8s.io/node", WhenUnsatisfiable: corev1.ScheduleAnyway},
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.ScheduleAnyway}),
		}},
		{name: "missing maxSkew", constraints: []corev1.TopologySpreadConstraint{zone(corev1.TopologySpreadConstraint{WhenUnsatisfiable: corev1.DoNotSchedule})},
			want: []string{spread0 + ".maxSkew: Invalid value: 0: must be greater than zero"}},
		{name: "negative maxSkew", constraints: []corev1.TopologySpreadConstraint{zone(corev1.TopologySpreadConstraint{MaxSkew: -1, WhenUnsatisfiable: corev1.DoNotSchedule})},
			want: []string{spread0 + ".maxSkew: Invalid value: -1: must be greater than zero"}},
		{name: "negative minDomains", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, MinDomains: ptr.To[int32](-1)}),
		}, want: []string{spread0 + ".minDomains: Invalid value: -1: must be greater than zero"}},
		{name: "minDomains with ScheduleAnyway", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.ScheduleAnyway, MinDomains: ptr.To[int32](10)}),
		}, want: []string{spread0 + ".minDomains: Invalid value: 10: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"}},
		{name: "negative minDomains with ScheduleAnyway", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.ScheduleAnyway, MinDomains: ptr.To[int32](-1)}),
		}, want: []string{
			spread0 + ".minDomains: Invalid value: -1: must be greater than zero",
			spread0 + ".minDomains: Invalid value: -1: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
		}},
		{name: "missing topologyKey", constraints: []corev1.TopologySpreadConstraint{
			{MaxSkew: 1, WhenUnsatisfiable: corev1.ScheduleAnyway},
			zone(corev1.TopologySpreadConstraint{MaxSkew: 2, WhenUnsatisfiable: corev1.DoNotSchedule}),
		}, want: []string{spread0 + ".topologyKey: Required value: can not be empty"}},
		{name: "missing whenUnsatisfiable", constraints: []corev1.TopologySpreadConstraint{zone(corev1.TopologySpreadConstraint{MaxSkew: 1})},
			want: []string{spread0 + `.whenUnsatisfiable: Unsupported value: "": supported values: "DoNotSchedule", "ScheduleAnyway"`}},
		{name: "unknown whenUnsatisfiable", constraints: []corev1.TopologySpreadConstraint{zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: "N/A"})},
			want: []string{spread0 + `.whenUnsatisfiable: Unsupported value: "N/A": supported values: "DoNotSchedule", "ScheduleAnyway"`}},
		{name: "duplicate constraints", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule}),
			zone(corev1.TopologySpreadConstraint{MaxSkew: 2, WhenUnsatisfiable: corev1.DoNotSchedule}),
			zone(corev1.TopologySpreadConstraint{MaxSkew: 3, WhenUnsatisfiable: corev1.DoNotSchedule}),
		}, want: []string{
			spread0 + `.{topologyKey, whenUnsatisfiable}: Duplicate value: "{k8s.io/zone, DoNotSchedule}"`,
			`spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: "{k8s.io/zone, DoNotSchedule}"`,
		}},
		{name: "unknown node inclusion policies", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, NodeAffinityPolicy: &unknown, NodeTaintsPolicy: &unknown}),
		}, want: []string{
			spread0 + `.nodeAffinityPolicy: Unsupported value: "Unknown": supported values: "Honor", "Ignore"`,
			spread0 + `.nodeTaintsPolicy: Unsupported value: "Unknown": supported values: "Honor", "Ignore"`,
		}},
		{name: "invalid matchLabelKeys", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{}, MatchLabelKeys: []string{"/simple"}}),
		}, want: []string{spread0 + `.matchLabelKeys[0]: Invalid value: "/simple": prefix part must be non-empty`}},
		{name: "key in matchLabelKeys and twice in the selector", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, MatchLabelKeys: []string{"foo"},
				LabelSelector: selectorOf(expr("foo", metav1.LabelSelectorOpNotIn, "value1"), expr("foo", metav1.LabelSelectorOpNotIn, "value2", "value3"))}),
		}, want: []string{spread0 + `[0]: Invalid value: "foo": exists in both matchLabelKeys and labelSelector`}},
		{name: "key in matchLabelKeys and in the selector, pod without the label", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, MatchLabelKeys: []string{"foo"},
				LabelSelector: selectorOf(expr("foo", metav1.LabelSelectorOpNotIn, "value1", "value2"))}),
		}},
		{name: "key in matchLabelKeys and in the selector, pod with the label", labels: map[string]string{"foo": "value3"}, constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, MatchLabelKeys: []string{"foo"},
				LabelSelector: selectorOf(expr("foo", metav1.LabelSelectorOpNotIn, "value1", "value2"))}),
		}, want: []string{spread0 + `[0]: Invalid value: "foo": exists in both matchLabelKeys and labelSelector`}},
		{name: "matchLabelKeys without a label selector", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule, MatchLabelKeys: []string{"foo"}}),
		}, want: []string{spread0 + ".matchLabelKeys: Forbidden: must not be specified when labelSelector is not set"}},
		{name: "invalid label selector", constraints: []corev1.TopologySpreadConstraint{
			zone(corev1.TopologySpreadConstraint{MaxSkew: 1, WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"NoUppercaseOrSpecialCharsLike=Equals": "foo"}}}),
			{MaxSkew: 1, TopologyKey: "k8s.io/node", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: selectorOf(expr("foo", metav1.LabelSelectorOpIn, "a b"))},
		}, want: []string{
			spread0 + `.labelSelector.matchLabels: Invalid value: "NoUppercaseOrSpecialCharsLike=Equals": name part must consist of alphanumeric characters`,
			`spec.topologySpreadConstraints[1].labelSelector.matchExpressions[0].values[0]: Invalid value: "a b": a valid label must be`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			pod.Labels = tt.labels
			pod.Spec.TopologySpreadConstraints = tt.constraints
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

// TestValidateSchedulingUpdate: an update keeps the invalid values upstream lets a
// stored pod keep, and checks matchLabelKeys against the selector as stored.
func TestValidateSchedulingUpdate(t *testing.T) {
	tests := []struct {
		name string
		old  func(p *corev1.Pod)
		want []string
	}{
		{name: "invalid label value in required node affinity", old: func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{nodeExpr("key", corev1.NodeSelectorOpIn, "-bad-")}})
		}},
		{name: "invalid label value in a pod affinity selector", old: func(p *corev1.Pod) {
			requirePods(p, corev1.PodAffinityTerm{LabelSelector: selectorOf(expr("app", metav1.LabelSelectorOpIn, "a b")), TopologyKey: "zone"})
		}},
		{name: "invalid operator in a pod affinity selector keeps being reported", old: func(p *corev1.Pod) {
			requirePods(p, corev1.PodAffinityTerm{LabelSelector: selectorOf(expr("app", "Like", "a b")), TopologyKey: "zone"})
		}, want: []string{requiredAffinity + `.labelSelector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector operator`}},
		{name: "invalid spread selector", old: func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a b"}}}}
		}},
		{name: "invalid node affinity operator keeps being reported", old: func(p *corev1.Pod) {
			requireNodes(p, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "key1"}}})
		}, want: []string{requiredNodeTerm + `.matchExpressions[0].operator: Invalid value: "": not a valid selector operator`}},
		{name: "label the selector already names, added after create", old: func(p *corev1.Pod) {
			term := corev1.PodAffinityTerm{LabelSelector: selectorOf(expr("key", metav1.LabelSelectorOpNotIn, "v2")), TopologyKey: "zone", MatchLabelKeys: []string{"key"}}
			requirePods(p, term)
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: term.LabelSelector, MatchLabelKeys: []string{"key"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validPod()
			tt.old(old)
			pod := old.DeepCopy()
			pod.Labels = map[string]string{"key": "v1"}
			checkErrors(t, New().ValidateUpdate(pod, old), tt.want)
		})
	}
}
