package apiservice

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/typed/apiregistration/v1"
	apiregistrationinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions/apiregistration/v1"
	apiregistrationlisters "k8s.io/kube-aggregator/pkg/client/listers/apiregistration/v1"

	"github.com/podium/podium/internal/controller/reconcile"
)

// automanaged is the label of APIServices the server keeps itself.
const automanaged = "kube-aggregator.kubernetes.io/automanaged"

// Served is what the API server serves: its built-in and custom group versions.
type Served func() (builtin, custom []schema.GroupVersion)

// Controller keeps the APIServices.
type Controller struct {
	client  apiregistrationclient.APIServiceInterface
	lister  apiregistrationlisters.APIServiceLister
	synced  cache.InformerSynced
	served  Served
	changed <-chan struct{}
	loop    *reconcile.Loop
}

// New returns the controller; changed signals when the served group versions change.
// The caller starts the informer.
func New(client apiregistrationclient.APIServiceInterface, inf apiregistrationinformers.APIServiceInformer, served Served, changed <-chan struct{}, log *slog.Logger) *Controller {
	c := &Controller{client: client, lister: inf.Lister(), synced: inf.Informer().HasSynced, served: served, changed: changed}
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
	for _, a := range existing {
		have[a.Name] = a
	}
	for name, a := range want {
		if _, ok := have[name]; ok {
			continue
		}
		if _, err := c.client.Create(ctx, a, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return 0, err
		}
	}
	for name, a := range have {
		if a.Spec.Service != nil {
			continue // the remote availability controller's
		}
		if _, ok := want[name]; !ok && a.Labels[automanaged] != "" {
			if err := c.client.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return 0, err
			}
			continue
		}
		if err := c.setAvailable(ctx, a.DeepCopy()); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// setAvailable writes a local APIService's Available condition when it changed.
func (c *Controller) setAvailable(ctx context.Context, a *apiregistrationv1.APIService) error {
	cond := apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue,
		Reason: "Local", Message: "Local APIServices are always available"}
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
	_, err := c.client.UpdateStatus(ctx, a, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // the informer brings the newer one
	}
	return err
}
