package crd

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	listers "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/customresource"
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/customresourcedefinition"
)

// Server is the API server that serves the definitions' resources.
type Server interface {
	ServeCustom(name, storageResource string, strats []registry.Strategy, terminating bool) error
	StopServingCustom(name string)
}

// OpenAPI publishes the OpenAPI documents of the definitions' resources.
type OpenAPI interface {
	SetCustom(crd *apiextensionsv1.CustomResourceDefinition) error
	RemoveCustom(name string)
}

// Controller runs the definitions.
type Controller struct {
	client     apiextensionsclient.Interface
	dynamic    dynamic.Interface
	server     Server
	openapi    OpenAPI
	converters customresource.Converters
	lister     listers.CustomResourceDefinitionLister
	synced     cache.InformerSynced
	loop       *reconcile.Loop
	log        *slog.Logger

	// served is what the server serves of each definition, so that it is rebuilt only
	// when that changes.
	served map[string]servedAs
}

// servedAs is what a definition's serving was built from.
type servedAs struct {
	uid         string
	generation  int64
	names       apiextensionsv1.CustomResourceDefinitionNames
	terminating bool
}

// New returns the controller; the caller starts informers.
func New(client apiextensionsclient.Interface, dyn dynamic.Interface, informers apiextensionsinformers.SharedInformerFactory,
	server Server, openapi OpenAPI, converters customresource.Converters, log *slog.Logger) *Controller {
	inf := informers.Apiextensions().V1().CustomResourceDefinitions()
	c := &Controller{client: client, dynamic: dyn, server: server, openapi: openapi, converters: converters, lister: inf.Lister(),
		synced: inf.Informer().HasSynced, log: log, served: map[string]servedAs{}}
	c.loop = reconcile.New("customresourcedefinitions", c.sync, log)
	// A definition's names depend on the others of its group: any change looks at all.
	_, _ = inf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			return crd.Name
		}
		return ""
	}))
	return c
}

// Prime lists the definitions and has the server serve those that were served before,
// so that a restarted server serves them from its first request. It lists them itself
// rather than wait for the informer, whose sync is polled every 100 ms.
func (c *Controller) Prime(ctx context.Context) error {
	all, err := c.client.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range all.Items {
		crd := &all.Items[i]
		if err := c.serve(crd); err != nil {
			c.log.Warn("serving a custom resource definition", "name", crd.Name, "err", err)
		}
	}
	return nil
}

// Run works until ctx ends. One worker keeps the decisions about names in order.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	crd, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		c.stopServing(name)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	crd = crd.DeepCopy()
	if crd.DeletionTimestamp == nil {
		if changed, err := c.acceptNames(ctx, crd); changed || err != nil {
			return 0, err // the update comes back as an event
		}
	}
	if err := c.serve(crd); err != nil {
		return 0, err
	}
	if crd.DeletionTimestamp != nil {
		return c.finalize(ctx, crd)
	}
	if apihelpers.IsCRDConditionTrue(crd, apiextensionsv1.NamesAccepted) && !apihelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) {
		apihelpers.SetCRDCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established,
			Status: apiextensionsv1.ConditionTrue, Reason: "InitialNamesAccepted", Message: "the initial names have been accepted"})
		_, err := c.client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, crd, metav1.UpdateOptions{})
		return 0, ignoreGone(err)
	}
	return 0, nil
}

// serve has the server serve what the definition's accepted names and versions say,
// or nothing while no names are accepted.
func (c *Controller) serve(crd *apiextensionsv1.CustomResourceDefinition) error {
	if !apihelpers.IsCRDConditionTrue(crd, apiextensionsv1.NamesAccepted) && !apihelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) {
		c.stopServing(crd.Name)
		return nil
	}
	want := servedAs{uid: string(crd.UID), generation: crd.Generation, names: crd.Status.AcceptedNames,
		terminating: apihelpers.IsCRDConditionTrue(crd, apiextensionsv1.Terminating) || crd.DeletionTimestamp != nil}
	if cur, ok := c.served[crd.Name]; ok && reflect.DeepEqual(cur, want) {
		return nil
	}
	def, err := customresource.Build(crd, c.converters)
	if err != nil {
		return fmt.Errorf("serving %s: %w", crd.Name, err)
	}
	if err := c.server.ServeCustom(def.Name, def.Storage, def.Versions, want.terminating); err != nil {
		return err
	}
	c.served[crd.Name] = want
	if err := c.openapi.SetCustom(crd); err != nil {
		c.log.Warn("publishing the OpenAPI of a custom resource definition", "name", crd.Name, "err", err)
	}
	return nil
}

func (c *Controller) stopServing(name string) {
	c.server.StopServingCustom(name)
	c.openapi.RemoveCustom(name)
	delete(c.served, name)
}

// acceptNames accepts the definition's names that no other definition of its group
// holds, as upstream's naming controller, and reports whether it wrote the status.
func (c *Controller) acceptNames(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (bool, error) {
	resources, kinds := sets.New[string](), sets.New[string]()
	all, err := c.lister.List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, other := range all {
		if other.Spec.Group != crd.Spec.Group || other.Name == crd.Name {
			continue
		}
		n := other.Status.AcceptedNames
		resources.Insert(n.Plural, n.Singular)
		resources.Insert(n.ShortNames...)
		kinds.Insert(n.Kind, n.ListKind)
	}
	want, accepted := crd.Spec.Names, crd.Status.AcceptedNames
	names := accepted
	cond := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionTrue,
		Reason: "NoConflicts", Message: "no conflicts found"}
	conflict := func(reason string, err error) {
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, reason, err.Error()
	}
	if err := freeOrOwn(want.Plural, accepted.Plural, resources); err != nil {
		conflict("PluralConflict", err)
	} else {
		names.Plural = want.Plural
	}
	if err := freeOrOwn(want.Singular, accepted.Singular, resources); err != nil {
		conflict("SingularConflict", err)
	} else {
		names.Singular = want.Singular
	}
	if !reflect.DeepEqual(want.ShortNames, accepted.ShortNames) {
		own := sets.New(accepted.ShortNames...)
		var taken error
		for _, s := range want.ShortNames {
			if err := freeOrOwn(s, "", resources); err != nil && !own.Has(s) {
				taken = err
			}
		}
		if taken != nil {
			conflict("ShortNamesConflict", taken)
		} else {
			names.ShortNames = want.ShortNames
		}
	}
	if err := freeOrOwn(want.Kind, accepted.Kind, kinds); err != nil {
		conflict("KindConflict", err)
	} else {
		names.Kind = want.Kind
	}
	if err := freeOrOwn(want.ListKind, accepted.ListKind, kinds); err != nil {
		conflict("ListKindConflict", err)
	} else {
		names.ListKind = want.ListKind
	}
	names.Categories = want.Categories

	next := crd.DeepCopy()
	next.Status.AcceptedNames = names
	apihelpers.SetCRDCondition(next, cond)
	if !apihelpers.IsCRDConditionTrue(next, apiextensionsv1.Established) {
		est := apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse,
			Reason: "NotAccepted", Message: "not all names are accepted"}
		if cond.Status == apiextensionsv1.ConditionTrue {
			est.Reason, est.Message = "Installing", "the initial names have been accepted"
		}
		apihelpers.SetCRDCondition(next, est)
	}
	if equalStatus(crd, next) {
		return false, nil
	}
	_, err = c.client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return true, ignoreGone(err)
}

// equalStatus compares two statuses but for the conditions' transition times.
func equalStatus(a, b *apiextensionsv1.CustomResourceDefinition) bool {
	if !reflect.DeepEqual(a.Status.AcceptedNames, b.Status.AcceptedNames) || len(a.Status.Conditions) != len(b.Status.Conditions) {
		return false
	}
	for i := range a.Status.Conditions {
		if !apihelpers.IsCRDConditionEquivalent(&a.Status.Conditions[i], &b.Status.Conditions[i]) {
			return false
		}
	}
	return true
}

// freeOrOwn accepts a name the definition holds already or nobody does.
func freeOrOwn(want, accepted string, taken sets.Set[string]) error {
	if want == accepted || !taken.Has(want) {
		return nil
	}
	return fmt.Errorf("%q is already in use", want)
}

// finalize deletes the custom resources of a deleted definition and then lets it go.
func (c *Controller) finalize(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (time.Duration, error) {
	if !apihelpers.CRDHasFinalizer(crd, customresourcedefinition.CleanupFinalizer) {
		return 0, nil
	}
	setTerminating := func(reason, message string) error {
		apihelpers.SetCRDCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Terminating,
			Status: apiextensionsv1.ConditionTrue, Reason: reason, Message: message})
		next, err := c.client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, crd, metav1.UpdateOptions{})
		if err == nil {
			crd = next
		}
		return err
	}
	if apihelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established) && crd.Status.AcceptedNames.Plural != "" {
		if err := setTerminating("InstanceDeletionInProgress", "CustomResource deletion is in progress"); err != nil {
			return 0, ignoreGone(err)
		}
		left, err := c.deleteInstances(ctx, crd)
		if err != nil {
			_ = setTerminating("InstanceDeletionFailed", fmt.Sprintf("could not issue all deletes: %v", err))
			return 0, err
		}
		if left > 0 {
			// Objects with finalizers of their own are still going.
			return time.Second, nil
		}
		if err := setTerminating("InstanceDeletionCompleted", "removed all instances"); err != nil {
			return 0, ignoreGone(err)
		}
	}
	apihelpers.CRDRemoveFinalizer(crd, customresourcedefinition.CleanupFinalizer)
	_, err := c.client.ApiextensionsV1().CustomResourceDefinitions().UpdateStatus(ctx, crd, metav1.UpdateOptions{})
	return 0, ignoreGone(err)
}

// deleteInstances deletes the definition's objects, a namespace at a time, and returns
// how many were left before the deletes.
func (c *Controller) deleteInstances(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (int, error) {
	var version string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			version = v.Name
			break
		}
	}
	if version == "" {
		return 0, nil
	}
	res := c.dynamic.Resource(schema.GroupVersionResource{Group: crd.Spec.Group, Version: version, Resource: crd.Status.AcceptedNames.Plural})
	list, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	namespaces := sets.New[string]()
	for _, item := range list.Items {
		namespaces.Insert(item.GetNamespace())
	}
	for ns := range namespaces {
		var err error
		if ns == "" {
			err = res.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		} else {
			err = res.Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, err
		}
	}
	return len(list.Items), nil
}

func ignoreGone(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
