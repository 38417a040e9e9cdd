package builtin

import (
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/configmap"
	"github.com/podium/podium/internal/registry/endpoints"
	"github.com/podium/podium/internal/registry/endpointslice"
	"github.com/podium/podium/internal/registry/event"
	"github.com/podium/podium/internal/registry/eventsv1"
	"github.com/podium/podium/internal/registry/lease"
	"github.com/podium/podium/internal/registry/namespace"
	"github.com/podium/podium/internal/registry/node"
	"github.com/podium/podium/internal/registry/pod"
	"github.com/podium/podium/internal/registry/podtemplate"
	"github.com/podium/podium/internal/registry/secret"
	"github.com/podium/podium/internal/registry/service"
	"github.com/podium/podium/internal/registry/serviceaccount"
)

// Strategies lists every resource podium serves. Serving a new resource means adding its
// strategy here.
func Strategies() []registry.Strategy {
	return []registry.Strategy{
		namespace.New(),
		pod.New(),
		podtemplate.New(),
		node.New(),
		event.New(),
		eventsv1.New(),
		lease.New(),
		configmap.New(),
		secret.New(),
		serviceaccount.New(),
		service.New(),
		endpoints.New(),
		endpointslice.New(),
	}
}
