package scheduler

import (
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/balancedallocation"
	"github.com/podium/podium/internal/scheduler/plugins/interpodaffinity"
	"github.com/podium/podium/internal/scheduler/plugins/nodeaffinity"
	"github.com/podium/podium/internal/scheduler/plugins/nodename"
	"github.com/podium/podium/internal/scheduler/plugins/nodeports"
	"github.com/podium/podium/internal/scheduler/plugins/noderesources"
	"github.com/podium/podium/internal/scheduler/plugins/nodeunschedulable"
	"github.com/podium/podium/internal/scheduler/plugins/selectorspread"
	"github.com/podium/podium/internal/scheduler/plugins/tainttoleration"
	"github.com/podium/podium/internal/scheduler/plugins/volumebinding"
)

// defaultProfile returns the plugins podium runs: upstream's default filters in
// upstream's order (the first rejection names a node's reason), and its default
// scores with their weights.
func defaultProfile(ns corelisters.NamespaceLister, volumes *volumebinding.VolumeBinding) *framework.Profile {
	fit, affinity, taints := noderesources.New(), nodeaffinity.New(), tainttoleration.New()
	return framework.NewProfile(
		[]framework.FilterPlugin{
			nodeunschedulable.New(),
			nodename.New(),
			taints,
			affinity,
			nodeports.New(),
			fit,
			volumes,
			interpodaffinity.New(namespaces{ns}),
		},
		[]framework.WeightedScorePlugin{
			{ScorePlugin: fit, Weight: 1},
			{ScorePlugin: balancedallocation.New(), Weight: 1},
			{ScorePlugin: affinity, Weight: 2},
			{ScorePlugin: selectorspread.New(), Weight: 2},
			{ScorePlugin: taints, Weight: 3},
		},
	)
}

// namespaces answers InterPodAffinity's namespace questions from the informer.
type namespaces struct{ lister corelisters.NamespaceLister }

var _ interpodaffinity.Namespaces = namespaces{}

func (n namespaces) Labels(name string) labels.Set {
	ns, err := n.lister.Get(name)
	if err != nil {
		return nil
	}
	return ns.Labels
}

func (n namespaces) Select(sel labels.Selector) []string {
	list, _ := n.lister.List(sel)
	out := make([]string, 0, len(list))
	for _, ns := range list {
		out = append(out, ns.Name)
	}
	return out
}
