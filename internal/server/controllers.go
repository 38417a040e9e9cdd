package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/version"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/aggregator"
	"github.com/podium/podium/internal/controller/admissionpolicystatus"
	"github.com/podium/podium/internal/controller/allocationrepair"
	"github.com/podium/podium/internal/controller/apfconfig"
	"github.com/podium/podium/internal/controller/apiservice"
	"github.com/podium/podium/internal/controller/authtrust"
	"github.com/podium/podium/internal/controller/builtinservice"
	"github.com/podium/podium/internal/controller/clusterroleaggregation"
	"github.com/podium/podium/internal/controller/cronjob"
	"github.com/podium/podium/internal/controller/csrapproving"
	"github.com/podium/podium/internal/controller/csrsigning"
	"github.com/podium/podium/internal/controller/daemonset"
	"github.com/podium/podium/internal/controller/deployment"
	"github.com/podium/podium/internal/controller/disruption"
	"github.com/podium/podium/internal/controller/endpoints"
	"github.com/podium/podium/internal/controller/endpointslice"
	"github.com/podium/podium/internal/controller/endpointslicemirroring"
	"github.com/podium/podium/internal/controller/ephemeral"
	"github.com/podium/podium/internal/controller/garbagecollector"
	"github.com/podium/podium/internal/controller/job"
	"github.com/podium/podium/internal/controller/localpath"
	"github.com/podium/podium/internal/controller/namespace"
	"github.com/podium/podium/internal/controller/nodelifecycle"
	"github.com/podium/podium/internal/controller/persistentvolume"
	"github.com/podium/podium/internal/controller/podautoscaler"
	"github.com/podium/podium/internal/controller/replicaset"
	"github.com/podium/podium/internal/controller/resourcequota"
	"github.com/podium/podium/internal/controller/rootca"
	"github.com/podium/podium/internal/controller/satokens"
	"github.com/podium/podium/internal/controller/serviceaccount"
	"github.com/podium/podium/internal/controller/servicelb"
	"github.com/podium/podium/internal/controller/statefulset"
	"github.com/podium/podium/internal/controller/ttlafterfinished"
	"github.com/podium/podium/internal/controller/volumeprotection"
	"github.com/podium/podium/internal/dns"
	"github.com/podium/podium/internal/leader"
	"github.com/podium/podium/internal/scheduler"
	"github.com/podium/podium/internal/servicealloc"
)

// controllerConfig is what the controllers need to know of the server.
type controllerConfig struct {
	rest      *rest.Config
	caPEM     []byte
	ca        csrsigning.Signer // signs approved certificate requests
	tokens    satokens.Issuer   // signs the tokens of service account token Secrets
	clusterIP string
	address   string
	port      int32
	// servers is every live server; the kubernetes Service's endpoints (and kube-dns's,
	// when the DNS server listens on the advertised address) list them all.
	servers builtinservice.Servers
	log     *slog.Logger
	// disableScheduler leaves pods unscheduled (--disable-scheduler).
	disableScheduler bool
	// nodeMonitorGracePeriod is how long a silent node stays Ready (0: 40 s).
	nodeMonitorGracePeriod time.Duration
	dns                    dnsConfig
	// resourcesChanged and groupsChanged signal when the served resources change (one
	// channel for each consumer); served lists the served group versions.
	resourcesChanged, groupsChanged <-chan struct{}
	served                          apiservice.Served
	// aggregator proxies to aggregated API servers, found with resolver; the
	// controllers keep its APIServices and their availability.
	aggregator *aggregator.Aggregator
	resolver   aggregator.Resolver
	// frontProxyCAPEM is the CA of the aggregator's client certificate.
	frontProxyCAPEM []byte
	// quotas is what ResourceQuotas count; quotaCounter counts the objects of any other
	// resource.
	quotas       quotav1.Configuration
	quotaCounter func(schema.GroupResource) quotav1.Evaluator
	// identity, when set, is this server's in leader elections: its datastore can be
	// shared, and the controllers and the scheduler run only while it holds their
	// Leases. lost ends the server when it loses one.
	identity string
	lost     func(error)
	// claims are the allocators' claims in etcd, which the repair controller gives back.
	claims allocationrepair.Claims
}

// lead runs fn: at once on a server alone on its datastore, else while this server
// holds the Lease kube-system/name.
func (cfg controllerConfig) lead(ctx context.Context, client kubernetes.Interface, name string, fn func(context.Context)) {
	if cfg.identity == "" {
		fn(ctx)
		return
	}
	if err := leader.Run(ctx, client, name, cfg.identity, fn, cfg.lost, cfg.log); err != nil {
		cfg.lost(fmt.Errorf("leader election for %s: %w", name, err))
	}
}

// dnsConfig is the cluster DNS: its Service's cluster IP, its zone, and where the
// server answers (address:port). A zero clusterIP runs none.
type dnsConfig struct {
	clusterIP, domain, address string
	port                       int32
}

// servers are the nameservers pods of dnsPolicy ClusterFirst get.
func (d dnsConfig) servers() []string {
	if d.clusterIP == "" {
		return nil
	}
	return []string{d.clusterIP}
}

// clusterDNS works out the cluster DNS of cfg, whose advertised address is address.
func clusterDNS(cfg Config, address string) (dnsConfig, error) {
	if cfg.DisableDNS {
		return dnsConfig{}, nil
	}
	d := dnsConfig{clusterIP: cfg.ClusterDNS, domain: cfg.ClusterDomain, address: address, port: int32(cfg.DNSPort)}
	if d.domain == "" {
		d.domain = "cluster.local"
	}
	if d.port == 0 {
		d.port = 53
	}
	if d.clusterIP == "" {
		ip, err := servicealloc.NthIP(cfg.ServiceCIDR, 10)
		if err != nil {
			return dnsConfig{}, fmt.Errorf("cluster DNS: %w", err)
		}
		d.clusterIP = ip
	}
	return d, nil
}

// startControllers starts the cluster's controllers, which run until ctx ends, in
// running. They begin once their informers have synced; the server does not wait for
// that.
func startControllers(ctx context.Context, running *sync.WaitGroup, cfg controllerConfig) error {
	rc := rest.CopyConfig(cfg.rest)
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	// Their writes are recorded in managedFields as kube-controller-manager's.
	rc.UserAgent = "kube-controller-manager/" + version.Get().GitVersion + " (podium)"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	// The dynamic and metadata clients speak JSON, but as the same manager.
	jsonCfg := rest.CopyConfig(cfg.rest)
	jsonCfg.UserAgent = rc.UserAgent
	dyn, err := dynamic.NewForConfig(jsonCfg)
	if err != nil {
		return err
	}
	metaClient, err := metadata.NewForConfig(jsonCfg)
	if err != nil {
		return err
	}
	gc := garbagecollector.New(metaClient, dyn, client.Discovery(), cfg.resourcesChanged, cfg.log)
	const resync = 0
	all := informers.NewSharedInformerFactory(client, resync)
	rootCAMaps := informers.NewSharedInformerFactoryWithOptions(client, resync, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", rootca.Name).String()
	}))
	kubernetesSvc := builtinservice.Kubernetes(cfg.clusterIP, cfg.address, cfg.port)
	kubernetesSvc.Servers = cfg.servers
	apiObjects := builtinObjects(client, kubernetesSvc)

	rs, err := replicaset.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	deploy, err := deployment.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	rcs, err := replicaset.NewReplicationManager(client, all, cfg.log)
	if err != nil {
		return err
	}
	daemons, err := daemonset.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	sets, err := statefulset.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	budgets, err := disruption.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	jobs, err := job.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	ttl, err := ttlafterfinished.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	cronJobs, err := cronjob.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	sa, err := serviceaccount.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	ca, err := rootca.New(client, cfg.caPEM, all, rootCAMaps, cfg.log)
	if err != nil {
		return err
	}
	ns, err := namespace.New(client, dyn, all, cfg.log)
	if err != nil {
		return err
	}
	eps, err := endpoints.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	mirror, err := endpointslicemirroring.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	slices, err := endpointslice.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	lbs, err := servicelb.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	aggregation, err := clusterroleaggregation.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	signing, err := csrsigning.New(client, all, cfg.ca, cfg.log)
	if err != nil {
		return err
	}
	approving, err := csrapproving.New(client, all, cfg.log)
	if err != nil {
		return err
	}
	legacyTokens, err := satokens.New(client, all, cfg.tokens, cfg.caPEM, cfg.log)
	if err != nil {
		return err
	}
	aggClient, err := aggregatorclient.NewForConfig(jsonCfg)
	if err != nil {
		return err
	}
	aggInformers := aggregatorinformers.NewSharedInformerFactory(aggClient, resync)
	apiServiceInformer := aggInformers.Apiregistration().V1().APIServices()
	apiServices := apiservice.New(aggClient.ApiregistrationV1().APIServices(), apiServiceInformer, cfg.served, cfg.groupsChanged, cfg.log)
	remoteAvailability, err := startAggregation(cfg, apiServiceInformer, all, aggClient)
	if err != nil {
		return err
	}
	trust := authtrust.New(client, authtrust.Data(cfg.caPEM, cfg.frontProxyCAPEM), cfg.log)
	apf := apfconfig.New(client.FlowcontrolV1(), all, cfg.log)
	// The quota controller recounts a namespace's quotas when an object they count
	// changes; the evaluators read the API server's watch cache.
	core := all.Core().V1()
	quotas := resourcequota.New(client, all, generic.NewRegistry(cfg.quotas.Evaluators()), cfg.quotaCounter, []cache.SharedIndexInformer{
		core.Pods().Informer(), core.Services().Informer(), core.PersistentVolumeClaims().Informer(),
		core.ConfigMaps().Informer(), core.Secrets().Informer(), core.ReplicationControllers().Informer(),
	}, cfg.log)
	protection := volumeprotection.New(client, all, cfg.log)
	autoscalers, err := podautoscaler.NewForConfig(jsonCfg, client, all, cfg.log)
	if err != nil {
		return err
	}
	binder := persistentvolume.New(client, all, cfg.log)
	ephemeralClaims := ephemeral.New(client, all, cfg.log)
	localPaths := localpath.New(client, localpath.ProxyNodes{Client: client}, all, cfg.log)
	policyStatus := admissionpolicystatus.New(client, client.Discovery(),
		restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())), all, cfg.log)
	var sched *scheduler.Scheduler
	if !cfg.disableScheduler {
		if sched, err = scheduler.New(client, all, cfg.log); err != nil {
			return err
		}
	}
	nl, err := nodelifecycle.New(client, all, nodelifecycle.Config{GracePeriod: cfg.nodeMonitorGracePeriod}, cfg.log)
	if err != nil {
		return err
	}
	repair, err := allocationrepair.New(cfg.claims, all, clock.RealClock{}, cfg.log)
	if err != nil {
		return err
	}
	ks, err := builtinservice.New(client, kubernetesSvc, apiObjects, cfg.log)
	if err != nil {
		return err
	}
	factories := []informers.SharedInformerFactory{all, rootCAMaps, apiObjects}
	builtins := []interface{ Run(context.Context) }{ks}
	var dnsServer *dns.Server
	if cfg.dns.clusterIP != "" {
		if dnsServer, err = dns.New(all, dns.Config{ClusterDomain: cfg.dns.domain, Logger: cfg.log}); err != nil {
			return err
		}
		kubeDNS := builtinservice.ClusterDNS(cfg.dns.clusterIP, cfg.dns.address, cfg.dns.port)
		if cfg.dns.address == cfg.address {
			kubeDNS.Servers = cfg.servers
		}
		dnsObjects := builtinObjects(client, kubeDNS)
		kd, err := builtinservice.New(client, kubeDNS, dnsObjects, cfg.log)
		if err != nil {
			return err
		}
		factories, builtins = append(factories, dnsObjects), append(builtins, kd)
	}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	aggInformers.Start(ctx.Done())
	running.Go(func() {
		defer func() {
			for _, f := range factories {
				f.Shutdown()
			}
			aggInformers.Shutdown()
		}()
		for _, f := range factories {
			for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
				if !ok && ctx.Err() == nil {
					cfg.log.Error("controller informer did not sync", "type", typ)
				}
			}
		}
		// What starting took (the first lists, the OpenAPI models) is garbage now: it
		// goes back to the system at once rather than at the runtime's leisure.
		debug.FreeOSMemory()
		var controllers sync.WaitGroup
		if dnsServer != nil && cfg.dns.address != "" {
			controllers.Go(func() {
				addr := net.JoinHostPort(cfg.dns.address, strconv.Itoa(int(cfg.dns.port)))
				if err := dnsServer.Run(ctx, addr); err != nil && ctx.Err() == nil {
					cfg.log.Error("the cluster DNS stopped", "address", addr, "err", err)
				}
			})
		}
		for _, c := range builtins {
			controllers.Go(func() { c.Run(ctx) })
		}
		runControllers := func(ctx context.Context) {
			var all sync.WaitGroup
			for _, c := range []interface{ Run(context.Context) }{sa, ca, ns, nl, gc, rs, deploy, rcs, daemons, sets, budgets, jobs, ttl, cronJobs, eps, slices, mirror, lbs, aggregation, signing, approving, legacyTokens, policyStatus, apiServices, trust, remoteAvailability, apf, quotas, protection, binder, localPaths, ephemeralClaims, autoscalers, repair} {
				all.Go(func() { c.Run(ctx) })
			}
			all.Wait()
		}
		// The DNS server and the built-in Services run on every server; the controllers
		// and the scheduler on one, when servers share their datastore.
		controllers.Go(func() { cfg.lead(ctx, client, "kube-controller-manager", runControllers) })
		if sched != nil {
			controllers.Go(func() { cfg.lead(ctx, client, "kube-scheduler", sched.Run) })
		}
		controllers.Wait()
	})
	return nil
}

// builtinObjects is an informer factory of svc's namespace that holds only svc's name.
func builtinObjects(client kubernetes.Interface, svc builtinservice.Service) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(svc.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", svc.Name).String()
		}))
}

// advertiseAddress picks the address the kubernetes Service's endpoints point at: the
// bind address when it is a specific, non-loopback one, else the host's first global
// IPv4 address. Endpoints may not be loopback addresses; with none to offer it returns "".
func advertiseAddress(bind string) string {
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		return ip.String()
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String()
			}
		}
	}
	return ""
}
