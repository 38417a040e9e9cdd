package crd

import (
	"context"
	"log/slog"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

func definition(name, plural, kind string, shortNames ...string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: plural[:len(plural)-1], Kind: kind, ListKind: kind + "List", ShortNames: shortNames}}}
}

func accepted(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
	crd.Status.AcceptedNames = crd.Spec.Names
	return crd
}

// TestAcceptNames: names another definition of the group holds are refused with
// upstream's reasons; free ones are accepted, and the definition goes on Installing.
func TestAcceptNames(t *testing.T) {
	held := accepted(definition("gadgets.example.com", "gadgets", "Gadget", "gd"))
	for _, tc := range []struct {
		crd    *apiextensionsv1.CustomResourceDefinition
		status apiextensionsv1.ConditionStatus
		reason string
	}{
		{definition("widgets.example.com", "widgets", "Widget", "wd"), apiextensionsv1.ConditionTrue, "NoConflicts"},
		// As upstream, the last name found taken gives the reason: listKind after kind,
		// singular after plural.
		{definition("widgets.example.com", "widgets", "Gadget"), apiextensionsv1.ConditionFalse, "ListKindConflict"},
		{definition("widgets.example.com", "widgets", "Widget", "gd"), apiextensionsv1.ConditionFalse, "ShortNamesConflict"},
		{definition("widgets.example.com", "gadgets", "Widget"), apiextensionsv1.ConditionFalse, "SingularConflict"},
	} {
		client := fake.NewSimpleClientset(held.DeepCopy(), tc.crd.DeepCopy())
		factory := apiextensionsinformers.NewSharedInformerFactory(client, 0)
		c := New(client, nil, factory, nil, nil, nil, slog.Default())
		ctx, cancel := context.WithCancel(context.Background())
		factory.Start(ctx.Done())
		factory.WaitForCacheSync(ctx.Done())
		changed, err := c.acceptNames(ctx, tc.crd.DeepCopy())
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", tc.reason, changed, err)
		}
		got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, tc.crd.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cond := apihelpers.FindCRDCondition(got, apiextensionsv1.NamesAccepted)
		if cond == nil || cond.Status != tc.status || cond.Reason != tc.reason {
			t.Errorf("%s: NamesAccepted %+v", tc.reason, cond)
		}
		est := apihelpers.FindCRDCondition(got, apiextensionsv1.Established)
		if tc.status == apiextensionsv1.ConditionTrue && (est == nil || est.Reason != "Installing" || got.Status.AcceptedNames.Plural != "widgets") {
			t.Errorf("accepted names %+v, Established %+v", got.Status.AcceptedNames, est)
		}
		cancel()
		factory.Shutdown()
	}
}

func TestFreeOrOwn(t *testing.T) {
	taken := sets.New("gadgets")
	if freeOrOwn("gadgets", "gadgets", taken) != nil || freeOrOwn("widgets", "", taken) != nil || freeOrOwn("gadgets", "", taken) == nil {
		t.Fatal("freeOrOwn")
	}
}
