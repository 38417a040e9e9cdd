package apfconfig

import (
	"context"
	"log/slog"
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func TestEnsure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	// An admin's own level, a suggested one the admin took over, a mandatory one
	// changed, and a leftover the ensurer made once.
	own := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt}}
	taken := bootstrap.SuggestedPriorityLevelConfigurationWorkloadLow.DeepCopy()
	taken.Annotations = map[string]string{flowcontrolv1.AutoUpdateAnnotationKey: "false"}
	taken.Spec.Limited.NominalConcurrencyShares = new(int32(7))
	changed := bootstrap.MandatoryFlowSchemaCatchAll.DeepCopy()
	changed.Spec.MatchingPrecedence = 9000
	leftover := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "old", Annotations: map[string]string{flowcontrolv1.AutoUpdateAnnotationKey: "true"}},
		Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "gone"}}}
	cs := fake.NewClientset(own, taken, changed, leftover)
	factory := informers.NewSharedInformerFactory(cs, 0)
	c := New(cs.FlowcontrolV1(), factory, slog.New(slog.DiscardHandler))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	if _, err := c.sync(ctx, "all"); err != nil {
		t.Fatal(err)
	}

	levels, _ := cs.FlowcontrolV1().PriorityLevelConfigurations().List(ctx, metav1.ListOptions{})
	schemas, _ := cs.FlowcontrolV1().FlowSchemas().List(ctx, metav1.ListOptions{})
	if want := len(bootstrap.SuggestedPriorityLevelConfigurations) + len(bootstrap.MandatoryPriorityLevelConfigurations) + 1; len(levels.Items) != want {
		t.Errorf("%d priority levels, want %d", len(levels.Items), want)
	}
	if want := len(bootstrap.SuggestedFlowSchemas) + len(bootstrap.MandatoryFlowSchemas); len(schemas.Items) != want {
		t.Errorf("%d flow schemas, want %d (the leftover deleted)", len(schemas.Items), want)
	}
	get := func(name string) *flowcontrolv1.PriorityLevelConfiguration {
		pl, err := cs.FlowcontrolV1().PriorityLevelConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	if pl := get("workload-low"); *pl.Spec.Limited.NominalConcurrencyShares != 7 {
		t.Error("a suggested level the admin took over was changed back")
	}
	if pl := get("team-a"); pl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "" {
		t.Error("the admin's own level was annotated")
	}
	if pl := get("global-default"); pl.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
		t.Errorf("a suggested level made without its annotation: %v", pl.Annotations)
	}
	catchAll, _ := cs.FlowcontrolV1().FlowSchemas().Get(ctx, "catch-all", metav1.GetOptions{})
	if catchAll.Spec.MatchingPrecedence != bootstrap.MandatoryFlowSchemaCatchAll.Spec.MatchingPrecedence {
		t.Error("a mandatory schema did not get its spec back")
	}
	// Each schema says whether its level exists, once the informers have seen the
	// levels made.
	if !cache.WaitForCacheSync(ctx.Done(), func() bool {
		pl, _ := c.levels.List(labels.Everything())
		return len(pl) == len(levels.Items)
	}) {
		t.Fatal("the informer did not see the levels")
	}
	if _, err := c.sync(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	catchAll, _ = cs.FlowcontrolV1().FlowSchemas().Get(ctx, "catch-all", metav1.GetOptions{})
	if len(catchAll.Status.Conditions) != 1 || catchAll.Status.Conditions[0].Reason != "Found" ||
		catchAll.Status.Conditions[0].Message != `This FlowSchema references the PriorityLevelConfiguration object named "catch-all" and it exists` {
		t.Errorf("the Dangling condition of catch-all: %+v", catchAll.Status.Conditions)
	}
}
