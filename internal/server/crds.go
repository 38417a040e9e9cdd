package server

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/conversion"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/component-base/version"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/controller/crd"
)

// startCustomResources runs the custom resource definitions until ctx ends, in running:
// it returns once those that exist are served.
func startCustomResources(ctx context.Context, running *sync.WaitGroup, api *apiserver.Server, openapi crd.OpenAPI, restCfg *rest.Config, log *slog.Logger) error {
	rc := rest.CopyConfig(restCfg)
	// As upstream, where these controllers run in kube-apiserver.
	rc.UserAgent = "kube-apiserver/" + version.Get().GitVersion + " (podium)"
	client, err := apiextensionsclient.NewForConfig(rc)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	// Conversion webhooks are reached as admission webhooks are.
	converters, err := conversion.NewCRConverterFactory(serviceEndpoints{api: api},
		func(r webhook.AuthenticationInfoResolver) webhook.AuthenticationInfoResolver { return r })
	if err != nil {
		return err
	}
	informers := apiextensionsinformers.NewSharedInformerFactory(client, 0)
	c := crd.New(client, dyn, informers, api, openapi, converters, log)
	informers.Start(ctx.Done())
	if err := c.Prime(ctx); err != nil {
		informers.Shutdown()
		return err
	}
	running.Add(1)
	go func() {
		defer running.Done()
		defer informers.Shutdown()
		c.Run(ctx)
	}()
	return nil
}
