package builtin

import (
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/admissionpolicy"
	"github.com/podium/podium/internal/registry/apiservice"
	"github.com/podium/podium/internal/registry/certificatesigningrequest"
	"github.com/podium/podium/internal/registry/configmap"
	"github.com/podium/podium/internal/registry/controllerrevision"
	"github.com/podium/podium/internal/registry/cronjob"
	"github.com/podium/podium/internal/registry/customresourcedefinition"
	"github.com/podium/podium/internal/registry/daemonset"
	"github.com/podium/podium/internal/registry/deployment"
	"github.com/podium/podium/internal/registry/endpoints"
	"github.com/podium/podium/internal/registry/endpointslice"
	"github.com/podium/podium/internal/registry/event"
	"github.com/podium/podium/internal/registry/eventsv1"
	"github.com/podium/podium/internal/registry/flowcontrol"
	"github.com/podium/podium/internal/registry/job"
	"github.com/podium/podium/internal/registry/lease"
	"github.com/podium/podium/internal/registry/namespace"
	"github.com/podium/podium/internal/registry/networkpolicy"
	"github.com/podium/podium/internal/registry/node"
	"github.com/podium/podium/internal/registry/persistentvolume"
	"github.com/podium/podium/internal/registry/persistentvolumeclaim"
	"github.com/podium/podium/internal/registry/pod"
	"github.com/podium/podium/internal/registry/poddisruptionbudget"
	"github.com/podium/podium/internal/registry/podtemplate"
	"github.com/podium/podium/internal/registry/rbac"
	"github.com/podium/podium/internal/registry/replicaset"
	"github.com/podium/podium/internal/registry/replicationcontroller"
	"github.com/podium/podium/internal/registry/secret"
	"github.com/podium/podium/internal/registry/service"
	"github.com/podium/podium/internal/registry/serviceaccount"
	"github.com/podium/podium/internal/registry/statefulset"
	"github.com/podium/podium/internal/registry/webhookconfiguration"
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
		deployment.New(),
		replicaset.New(),
		statefulset.New(),
		daemonset.New(),
		controllerrevision.New(),
		replicationcontroller.New(),
		job.New(),
		cronjob.New(),
		networkpolicy.New(),
		certificatesigningrequest.New(),
		webhookconfiguration.NewValidating(),
		webhookconfiguration.NewMutating(),
		admissionpolicy.NewPolicies(),
		admissionpolicy.NewBindings(),
		admissionpolicy.NewMutatingPolicies(),
		admissionpolicy.NewMutatingBindings(),
		poddisruptionbudget.New(),
		persistentvolumeclaim.New(),
		persistentvolume.New(),
		rbac.NewRoles(),
		rbac.NewClusterRoles(),
		rbac.NewRoleBindings(),
		rbac.NewClusterRoleBindings(),
		customresourcedefinition.New(),
		apiservice.New(),
		flowcontrol.NewFlowSchemas(),
		flowcontrol.NewPriorityLevelConfigurations(),
	}
}
