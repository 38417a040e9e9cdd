package apiservice

import (
	"context"
	"errors"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/podium/podium/internal/controller/reconcile"
)

// automanaged is the label of APIServices the server keeps itself.
const automanaged = "kube-aggregator.kubernetes.io/automanaged"

var gvr = apiregistrationv1.SchemeGroupVersion.WithResource("apiservices")

// Served is what the API server serves: its built-in and custom group versions.
type Served func() (builtin, custom []schema.GroupVersion)

// Controller keeps the APIServices.
type Controller struct {
	client  dynamic.ResourceInterface
	lister  cache.GenericLister
	synced  cache.InformerSynced
	served  Served
	changed <-chan struct{}
	loop    *reconcile.Loop
}

// New returns the controller; changed signals when the served group versions change.
// The caller starts the informer factory.
func New(dyn dynamic.Interface, factory dynamicinformer.DynamicSharedInformerFactory, served Served, changed <-chan struct{}, log *slog.Logger) *Controller {
	inf := factory.ForResource(gvr)
	c := &Controller{client: dyn.Resource(gvr), lister: inf.Lister(), synced: inf.Informer().HasSynced, served: served, changed: changed}
	c.loop = reconcile.New("apiservices", c.sync, log)
	_, _ = inf.Informer().AddEventHandler(c.loop.Handler(func(any) string { return "all" }))
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.changed:
				c.loop.Add("all")
			}
		}
	}()
	c.loop.Add("all")
	c.loop.Run(ctx, 1)
}

// local returns the local APIServices the server should have, by name.
func (c *Controller) local() map[string]*apiregistrationv1.APIService {
	builtin, custom := c.served()
	want := map[string]*apiregistrationv1.APIService{}
	add := func(gv schema.GroupVersion, label string, group, version int32) {
		a := &apiregistrationv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: gv.Version + "." + gv.Group, Labels: map[string]string{automanaged: label}},
			Spec:       apiregistrationv1.APIServiceSpec{Group: gv.Group, Version: gv.Version, GroupPriorityMinimum: group, VersionPriority: version},
		}
		a.APIVersion, a.Kind = apiregistrationv1.SchemeGroupVersion.String(), "APIService"
		want[a.Name] = a
	}
	// Discovery's order gives the priorities: earlier groups and versions first, the
	// custom ones after the built-in ones.
	groups, versions := map[string]int32{}, map[string]int32{}
	for _, set := range []struct {
		gvs   []schema.GroupVersion
		label string
	}{{builtin, "onstart"}, {custom, "true"}} {
		for _, gv := range set.gvs {
			if _, ok := groups[gv.Group]; !ok {
				groups[gv.Group] = int32(len(groups))
			}
			versions[gv.Group]++
			group, version := max(18000-100*groups[gv.Group], 1000), max(16-versions[gv.Group], 1)
			if set.label == "true" {
				group, version = 1000, max(100-versions[gv.Group], 1)
			}
			add(gv, set.label, group, version)
		}
	}
	return want
}

func (c *Controller) sync(ctx context.Context, _ string) (time.Duration, error) {
	want := c.local()
	existing, err := c.lister.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	have := map[string]*apiregistrationv1.APIService{}
	for _, obj := range existing {
		a, err := convert(obj)
		if err != nil {
			continue
		}
		have[a.Name] = a
	}
	for name, a := range want {
		if _, ok := have[name]; ok {
			continue
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
		if err != nil {
			return 0, err
		}
		if _, err := c.client.Create(ctx, &unstructured.Unstructured{Object: u}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return 0, err
		}
	}
	for name, a := range have {
		if _, ok := want[name]; !ok && a.Spec.Service == nil && a.Labels[automanaged] != "" {
			if err := c.client.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return 0, err
			}
			continue
		}
		if err := c.setAvailable(ctx, a); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// setAvailable writes an APIService's Available condition when it changed.
func (c *Controller) setAvailable(ctx context.Context, a *apiregistrationv1.APIService) error {
	cond := apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue,
		Reason: "Local", Message: "Local APIServices are always available"}
	if a.Spec.Service != nil {
		cond.Status, cond.Reason = apiregistrationv1.ConditionFalse, "FailedDiscoveryCheck"
		cond.Message = "podium does not proxy to aggregated API servers yet"
	}
	for i, cur := range a.Status.Conditions {
		if cur.Type != cond.Type {
			continue
		}
		if cur.Status == cond.Status && cur.Reason == cond.Reason && cur.Message == cond.Message {
			return nil
		}
		a.Status.Conditions = append(a.Status.Conditions[:i], a.Status.Conditions[i+1:]...)
		break
	}
	cond.LastTransitionTime = metav1.Now()
	a.Status.Conditions = append(a.Status.Conditions, cond)
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
	if err != nil {
		return err
	}
	_, err = c.client.UpdateStatus(ctx, &unstructured.Unstructured{Object: u}, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // the informer brings the newer one
	}
	return err
}

func convert(obj runtime.Object) (*apiregistrationv1.APIService, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, errNotUnstructured
	}
	a := &apiregistrationv1.APIService{}
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, a)
	a.APIVersion, a.Kind = apiregistrationv1.SchemeGroupVersion.String(), "APIService"
	return a, err
}

var errNotUnstructured = errors.New("an APIService that is not unstructured")
