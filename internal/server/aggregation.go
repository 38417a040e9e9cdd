package server

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	apiregistrationinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/controllers/status/metrics"
	"k8s.io/kube-aggregator/pkg/controllers/status/remote"
)

// aggregation runs what proxying to aggregated API servers needs besides the proxy:
// kube-aggregator's own availability controller for APIServices backed by a Service
// (the checks and condition reasons are upstream's), and the aggregator's discovery.
type aggregation struct {
	cfg       controllerConfig
	available *remote.AvailableConditionController
	synced    []cache.InformerSynced
}

// startAggregation has the aggregator follow the APIServices, and returns what keeps
// their availability and discovery, to run with the controllers.
func startAggregation(cfg controllerConfig, apiServices apiregistrationinformers.APIServiceInformer, all informers.SharedInformerFactory,
	client aggregatorclient.Interface) (*aggregation, error) {
	update := func(any) {
		list, err := apiServices.Lister().List(labels.Everything())
		if err == nil {
			cfg.aggregator.Update(list)
		}
	}
	_, err := apiServices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: update, UpdateFunc: func(_, obj any) { update(obj) }, DeleteFunc: update,
	})
	if err != nil {
		return nil, err
	}
	available, err := remote.New(apiServices, all.Core().V1().Services(), all.Discovery().V1().EndpointSlices(),
		client.ApiregistrationV1(), nil, cfg.aggregator.ClientCertificate, cfg.resolver, metrics.New())
	if err != nil {
		return nil, err
	}
	synced := []cache.InformerSynced{apiServices.Informer().HasSynced, all.Core().V1().Services().Informer().HasSynced,
		all.Discovery().V1().EndpointSlices().Informer().HasSynced}
	return &aggregation{cfg: cfg, available: available, synced: synced}, nil
}

// Run works until ctx ends.
func (a *aggregation) Run(ctx context.Context) {
	go a.cfg.aggregator.Run(ctx)
	// The availability controller reports an error when its informers have not synced
	// by the time ctx ends, as on a quick stop; it starts once they have.
	if !cache.WaitForCacheSync(ctx.Done(), a.synced...) {
		return
	}
	a.available.Run(2, ctx.Done())
}
