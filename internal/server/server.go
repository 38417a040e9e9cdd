package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/podium/podium/internal/admission"
	"github.com/podium/podium/internal/aggregator"
	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/claims"
	"github.com/podium/podium/internal/clusterid"
	"github.com/podium/podium/internal/connlimit"
	"github.com/podium/podium/internal/controller/builtinservice"
	"github.com/podium/podium/internal/controller/localpath"
	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/leader"
	"github.com/podium/podium/internal/metrics"
	"github.com/podium/podium/internal/node"
	"github.com/podium/podium/internal/nodeipam"
	"github.com/podium/podium/internal/openapi"
	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/internal/quota"
	"github.com/podium/podium/internal/rbacpolicy"
	"github.com/podium/podium/internal/registry/builtin"
	"github.com/podium/podium/internal/registry/priorityclass"
	"github.com/podium/podium/internal/serverlease"
	"github.com/podium/podium/internal/servicealloc"
	"github.com/podium/podium/internal/storage"
)

// Config is `podium server`'s configuration.
type Config struct {
	DataDir     string
	BindAddress string
	Port        int
	// EtcdEndpoints, when set, is an external etcd cluster to use instead of the
	// embedded one. EtcdCAFile verifies its members' certificates (default: the
	// system's roots), and EtcdCertFile and EtcdKeyFile are the client certificate
	// the server presents to it.
	EtcdEndpoints                         []string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// ClusterInit makes the embedded etcd the first member of a cluster that other
	// servers join (ServerURL); its peers reach it on the advertised address.
	ClusterInit bool
	// ServerURL, on a server with embedded etcd, is a server of the cluster to join as
	// another etcd member, with Token.
	ServerURL string
	// ClusterReset starts the embedded member as a cluster of one from its data, as
	// after losing quorum (etcd's --force-new-cluster); the others join it again.
	ClusterReset bool
	// ClusterResetRestorePath, with ClusterReset, is a snapshot (podium etcd-snapshot
	// save) restored into the embedded member before it starts, as k3s's
	// --cluster-reset-restore-path; the data it replaces is kept beside.
	ClusterResetRestorePath string
	// Token is the cluster's join token (a full K10 token or its secret): servers after
	// the first are given the first's, and take the cluster's identity with it. Empty:
	// the one in the data directory, or a new one.
	Token string
	// EtcdClientPort and EtcdPeerPort are the embedded etcd's loopback ports.
	EtcdClientPort, EtcdPeerPort int
	DisableAgent                 bool
	DisableScheduler             bool
	// NodeMonitorGracePeriod is how long a node may go without renewing its Lease or
	// posting status before it turns Unknown (0: 40 s).
	NodeMonitorGracePeriod time.Duration
	// NodeName, NodeIP, PodLogDir, AgentPort, the restart back-off and MaxPods
	// configure the server's own node agent.
	NodeName                              string
	NodeIP                                string
	PodLogDir                             string
	AgentPort                             int
	RestartBackOffBase, RestartBackOffMax time.Duration
	MaxPods                               int
	// AdvertiseAddress is the API server's address for pods and nodes, in the
	// kubernetes Service's endpoints; empty picks one (advertiseAddress).
	AdvertiseAddress string
	// ClusterCIDR is where Nodes' pod CIDRs (a /24 each) come from.
	ClusterCIDR string
	// ServiceCIDR is where Services' cluster IPs come from.
	ServiceCIDR string
	// ClusterDNS is the cluster IP of the cluster DNS (Service kube-system/kube-dns);
	// empty: the tenth address of ServiceCIDR. ClusterDomain is its zone
	// ("cluster.local" when empty). The DNS server listens on the advertised address at
	// DNSPort (53 when 0). DisableDNS runs none, and pods get the host's resolvers.
	ClusterDNS    string
	ClusterDomain string
	DNSPort       int
	DisableDNS    bool
	TLSSANs       []string
	// WriteKubeconfig, when set, is a second place to write the admin kubeconfig.
	WriteKubeconfig string
	Version         version.Info
	Logger          *slog.Logger
}

// Running describes a started server, for its caller and tests.
type Running struct {
	URL        string // https://127.0.0.1:PORT
	Kubeconfig string // path of the admin kubeconfig
	Rest       *rest.Config
}

// KubeconfigPath returns where the admin kubeconfig of a data directory is.
func KubeconfigPath(dataDir string) string { return filepath.Join(dataDir, "kubeconfig.yaml") }

// maxConnections bounds the API server's connections whatever the descriptor limit: with
// about 40 KB each (TLS and HTTP buffers, a goroutine), 4096 idle connections hold some
// 160 MB. A quarter of them may belong to clients that have not authenticated yet.
const maxConnections = 4096

// fileReserve is what the API listener leaves of the descriptor limit to etcd (its files
// and its clients), the agent (namespaces, logs, shims) and images: a quarter, and at
// least 1024.
func fileReserve(files uint64) int {
	return max(1024, int(files/4))
}

// Run starts the server, calls ready once it serves, and blocks until ctx ends; then it
// stops everything and returns.
func Run(ctx context.Context, cfg Config, ready func(Running)) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	routeKlog(log)
	if err := checkEtcdTLS(cfg); err != nil { // before anything is written
		return err
	}
	if cfg.ClusterResetRestorePath != "" && !cfg.ClusterReset {
		return errors.New("--cluster-reset-restore-path needs --cluster-reset")
	}
	if len(cfg.EtcdEndpoints) > 0 && (cfg.ServerURL != "" || cfg.ClusterInit || cfg.ClusterReset) {
		return errors.New("--server, --cluster-init and --cluster-reset are for servers on embedded etcd; with --etcd-endpoints, give the cluster's --token alone")
	}
	if cfg.ServerURL != "" && cfg.Token == "" {
		return errors.New("--server needs --token: the full token `podium server token` prints on a server of the cluster")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	files, err := connlimit.RaiseFileLimit()
	if err != nil {
		return fmt.Errorf("raising the limit of open files: %w", err)
	}
	serviceIP, err := servicealloc.FirstIP(cfg.ServiceCIDR)
	if err != nil {
		return err
	}
	pf := pki.Files{Dir: cfg.DataDir}
	sans := pki.HostSANs(serviceIP, cfg.ClusterCIDR, cfg.TLSSANs)
	secret, caHash, err := clusterid.Secret(pf, cfg.Token)
	if err != nil {
		return fmt.Errorf("--token: %w", err)
	}

	var client *clientv3.Client
	if len(cfg.EtcdEndpoints) > 0 {
		etcdCfg := clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: 5 * time.Second, Logger: quietZap()}
		if cfg.EtcdCAFile != "" || cfg.EtcdCertFile != "" || cfg.EtcdKeyFile != "" {
			if etcdCfg.TLS, err = etcd.ClientTLS(pki.EtcdFiles{CA: cfg.EtcdCAFile, ClientCert: cfg.EtcdCertFile, ClientKey: cfg.EtcdKeyFile}); err != nil {
				return fmt.Errorf("etcd client TLS: %w", err)
			}
		}
		client, err = clientv3.New(etcdCfg)
		if err != nil {
			return fmt.Errorf("connecting to etcd %v: %w", cfg.EtcdEndpoints, err)
		}
		defer client.Close()
		// A server after the first takes the cluster's identity before it makes any.
		if _, err := clusterid.Fetch(ctx, client, pf, secret); err != nil {
			return err
		}
	}
	address := cfg.AdvertiseAddress
	if address == "" {
		address = advertiseAddress(cfg.BindAddress)
	}
	// Servers on embedded etcd form a cluster of its members: the first with
	// --cluster-init, the others by joining one with --server and the token.
	clustered := client == nil && (cfg.ClusterInit || cfg.ServerURL != "" || isClustered(cfg.DataDir))
	member := etcd.Config{DataDir: filepath.Join(cfg.DataDir, "etcd"), ClientPort: cfg.EtcdClientPort, PeerPort: cfg.EtcdPeerPort,
		ForceNewCluster: cfg.ClusterReset}
	if address != "" {
		sans = append(sans, address) // the peers' and agents' way in
	}
	if clustered {
		if address == "" {
			return errors.New("an etcd cluster member needs an address its peers reach: set --advertise-address")
		}
		if member.Name, err = leader.Identity(cfg.DataDir); err != nil {
			return err
		}
		member.PeerAddress = address
		if cfg.ServerURL != "" && !hasEtcdData(cfg.DataDir) {
			peer := etcd.PeerURL("https", address, cfg.EtcdPeerPort)
			if member.InitialCluster, err = join(ctx, cfg.ServerURL, cfg.Token, pf, joinRequest{Name: member.Name, PeerURL: peer.String()}); err != nil {
				return err
			}
		}
		if err := markClustered(cfg.DataDir); err != nil {
			return err
		}
	}
	if err := pki.UseJoinToken(pf, secret); err != nil {
		return err
	}
	creds, err := pki.Ensure(pf, sans)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if client == nil {
		if cfg.ClusterResetRestorePath != "" {
			old, err := etcd.RestoreSnapshot(cfg.ClusterResetRestorePath, member.DataDir, cfg.EtcdPeerPort, true)
			if err != nil {
				return fmt.Errorf("--cluster-reset-restore-path: %w", err)
			}
			log.Info("restored a snapshot into the embedded etcd", "snapshot", cfg.ClusterResetRestorePath, "replacedDataKeptIn", old)
		}
		files := pf.Etcd()
		member.TLS = &files
		e, err := etcd.Start(ctx, member)
		if err != nil {
			return err
		}
		defer func() {
			e.Close()
			log.Debug("etcd stopped")
		}()
		client = e.Client()
		defer client.Close()
		if member.InitialCluster != "" {
			if err := waitPromoted(ctx, client, member.Name); err != nil {
				return err
			}
		}
	}
	// The first server stores the identity it made; one that raced it takes the winner's.
	changed, err := clusterid.Store(ctx, client, pf, creds.JoinToken)
	if err != nil {
		return err
	}
	if changed {
		if creds, err = pki.Ensure(pf, sans); err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
	}
	if err := pki.CheckCAHash(creds.CAPEM, caHash); err != nil {
		return fmt.Errorf("--token: %w", err)
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := apiregistrationv1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := metricsv1beta1.AddToScheme(scheme); err != nil {
		return err
	}
	store := storage.New(client, scheme)
	strats := builtin.Strategies()
	var api *apiserver.Server
	// metrics.k8s.io, served from what the scraper reads off the agents.
	usage := metrics.NewStore(metrics.DefaultResolution)
	cluster := cachedCluster{api: func() *apiserver.Server { return api }}
	readOnly := []apiserver.ReadOnlyResource{metrics.NewNodeMetrics(usage, cluster, clock.RealClock{}), metrics.NewPodMetrics(usage, cluster, clock.RealClock{})}
	var oa []openapi.Resource
	for _, st := range strats {
		oa = append(oa, openapi.Resource{Info: st.Info(), Object: st.New(), List: st.NewList(), Verbs: apiserver.Verbs()})
	}
	for _, ro := range readOnly {
		oa = append(oa, openapi.Resource{Info: ro.Info(), Object: ro.New(), List: ro.NewList(), Verbs: apiserver.ReadOnlyVerbs()})
	}
	spec, err := openapi.New(oa)
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}
	ca, err := pki.LoadCA(pki.Files{Dir: cfg.DataDir})
	if err != nil {
		return err
	}
	toAgents, err := newAgents(creds.CAPEM, creds.KubeletClient)
	if err != nil {
		return err
	}
	tokens, err := serviceAccountTokens(creds, func() *apiserver.Server { return api })
	if err != nil {
		return err
	}
	rbac := auth.NewRBAC(&rbacSource{api: func() *apiserver.Server { return api }})
	nodes := auth.NewNodeAuthorizer(func(ctx context.Context, namespace, name string) (string, error) {
		p := &corev1.Pod{}
		if err := store.Get(ctx, storage.Key("pods", namespace, name), p); err != nil {
			return "", err
		}
		return p.Spec.NodeName, nil
	}, func(_ context.Context, node, namespace string) []*corev1.Pod {
		var out []*corev1.Pod
		for _, obj := range api.CachedIn(schema.GroupResource{Resource: "pods"}, namespace) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName == node {
				out = append(out, p)
			}
		}
		return out
	})
	nodes.ClaimVolume = func(_ context.Context, namespace, name string) string {
		if obj, ok := api.CachedObject(schema.GroupResource{Resource: "persistentvolumeclaims"}, namespace, name); ok {
			return obj.(*corev1.PersistentVolumeClaim).Spec.VolumeName
		}
		return ""
	}
	authorizer := auth.Chain{nodes, rbac}
	api, err = apiserver.New(apiserver.Config{
		Store:                store,
		Scheme:               scheme,
		Strategies:           strats,
		Authenticator:        auth.FirstOf{auth.ClientCerts{}, auth.NewTokens(creds.AdminToken, creds.JoinToken), tokens},
		ServiceAccountTokens: tokens,
		APIAudiences:         []string{tokens.Issuer()},
		Authorizer:           authorizer,
		OpenAPI:              spec,
		Version:              cfg.Version,
		Logger:               log,
		WriteGuard:           writeGuard(cfg),
		NodeTransport:        toAgents.transport,
		NodeDialer:           toAgents.dial,
		ReadOnly:             readOnly,
	})
	if err != nil {
		return err
	}
	alloc, err := servicealloc.New(cfg.ServiceCIDR, func() []*corev1.Service {
		var out []*corev1.Service
		for _, obj := range api.Cached(schema.GroupResource{Resource: "services"}) {
			out = append(out, obj.(*corev1.Service))
		}
		return out
	}, clock.RealClock{})
	if err != nil {
		return err
	}
	// Servers sharing the datastore claim what they allocate there, so none hands out
	// what another did; a server alone pays one transaction a Service or Node.
	claimStore := claims.New(client, clock.RealClock{})
	alloc.UseClaims(claimStore)
	api.Admit(schema.GroupResource{Resource: "services"}, alloc)
	api.Admit(schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}, admission.CertificateRequests{Authorizer: authorizer})
	for _, r := range []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"} {
		api.Admit(rbacResource(r), admission.Escalation{Authorizer: authorizer, RBAC: rbac})
	}
	podCIDRs, err := nodeipam.New(cfg.ClusterCIDR, func() []*corev1.Node {
		var out []*corev1.Node
		for _, obj := range api.Cached(schema.GroupResource{Resource: "nodes"}) {
			out = append(out, obj.(*corev1.Node))
		}
		return out
	}, clock.RealClock{})
	if err != nil {
		return err
	}
	podCIDRs.UseClaims(claimStore)
	api.Admit(schema.GroupResource{Resource: "nodes"}, apiserver.Admitters{admission.NodeRestriction{}, podCIDRs})
	if err := admitPods(api, store); err != nil {
		return err
	}
	resolver := serviceEndpoints{api: api}
	agg, err := aggregator.New(creds.FrontProxyClient, resolver, spec, log)
	if err != nil {
		return err
	}
	api.Aggregate(agg)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := api.Run(runCtx); err != nil {
		return err
	}

	tcp, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	maxConns := connlimit.Budget(files, fileReserve(files), maxConnections)
	ln := connlimit.NewListener(tcp, maxConns, maxConns/4)
	caPool := x509.NewCertPool()
	if !caPool.AppendCertsFromPEM(creds.CAPEM) {
		return errors.New("the cluster CA is not PEM")
	}
	handler := api.Handler()
	if clustered {
		mux := http.NewServeMux()
		mux.Handle(joinPath, joinHandler(client, creds.JoinToken, log))
		mux.Handle("/", handler)
		handler = mux
	}
	srv := &http.Server{
		Handler: handler,
		// The TLS handshake has the same deadline as the request header.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ConnContext:       connlimit.ConnContext,
		// Users may present a client certificate of the cluster CA (podium kubeconfig
		// create) instead of a token.
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{creds.Serving}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
			ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: caPool},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// Clients on this host reach the server on loopback, unless it listens on one
	// address only.
	host := "127.0.0.1"
	if ip := net.ParseIP(cfg.BindAddress); ip != nil && !ip.IsUnspecified() {
		host = ip.String()
	}
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	kc := kubeconfig(url, creds)
	kcPath := KubeconfigPath(cfg.DataDir)
	for _, p := range []string{kcPath, cfg.WriteKubeconfig} {
		if p == "" {
			continue
		}
		if err := clientcmd.WriteToFile(*kc, p); err != nil {
			return fmt.Errorf("writing kubeconfig %s: %w", p, err)
		}
		_ = os.Chmod(p, 0o600)
	}
	restCfg := &rest.Config{Host: url, BearerToken: creds.AdminToken, TLSClientConfig: rest.TLSClientConfig{CAData: creds.CAPEM}, QPS: -1}
	// The webhooks and policies go in before the server serves; their informers
	// start after.
	// What ResourceQuotas count, from the watch cache: admission charges new objects,
	// the resource quota controller recounts.
	cached := func(gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error) {
		return api.CachedIn(gvr.GroupResource(), namespace), nil
	}
	quotas := quota.NewConfiguration(cached, clock.RealClock{})
	admissionInformers, err := extensionAdmission(api, strats, scheme, restCfg, authorizer, quotas, runCtx.Done())
	if err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ServeTLS(ln, "", "") }()
	admissionInformers.Start(runCtx.Done())
	defer admissionInformers.Shutdown()
	// Everything started from here on is waited for before the API server and etcd stop.
	var running sync.WaitGroup
	defer func() {
		stop()
		running.Wait()
	}()
	if err := bootstrap(ctx, restCfg); err != nil {
		_ = srv.Close()
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := startCustomResources(runCtx, &running, api, spec, restCfg, log); err != nil {
		_ = srv.Close()
		return fmt.Errorf("custom resources: %w", err)
	}
	if address == "" {
		log.Warn("no non-loopback address to advertise: the kubernetes Service gets no endpoints; set --advertise-address")
	}
	dnsCfg, err := clusterDNS(cfg, address)
	if err != nil {
		_ = srv.Close()
		return err
	}
	var servers builtinservice.Servers
	if address != "" {
		set := serverlease.New(client, address, log)
		running.Go(func() { set.Run(runCtx) })
		servers = set
	}
	// Servers can share an external etcd: they elect who runs the controllers and the
	// scheduler. A server on its own embedded etcd is alone by construction.
	var identity string
	if len(cfg.EtcdEndpoints) > 0 || clustered {
		if identity, err = leader.Identity(cfg.DataDir); err != nil {
			_ = srv.Close()
			return fmt.Errorf("leader election identity: %w", err)
		}
	}
	leaderLost := make(chan error, 1)
	lost := func(err error) {
		select {
		case leaderLost <- err:
		default:
		}
	}
	if err := startControllers(runCtx, &running, controllerConfig{rest: restCfg, caPEM: creds.CAPEM, ca: ca, tokens: tokens, clusterIP: alloc.First(),
		identity: identity, lost: lost, claims: claimStore,
		address: address, port: int32(port), servers: servers, log: log, disableScheduler: cfg.DisableScheduler,
		nodeMonitorGracePeriod: cfg.NodeMonitorGracePeriod, dns: dnsCfg,
		resourcesChanged: api.ResourcesChanged(), groupsChanged: api.ResourcesChanged(), served: api.GroupVersions,
		aggregator: agg, resolver: resolver, frontProxyCAPEM: creds.FrontProxyCAPEM, quotas: quotas,
		quotaCounter: func(gr schema.GroupResource) quotav1.Evaluator {
			return quota.NewObjectCountEvaluator(gr.WithVersion(""), cached)
		}}); err != nil {
		_ = srv.Close()
		return fmt.Errorf("controllers: %w", err)
	}
	running.Go(func() {
		metrics.NewScraper(metrics.ScraperConfig{Nodes: cluster.Nodes, Store: usage, Logger: log,
			Fetch: resourceMetricsFetcher(api, toAgents)}).Run(runCtx)
	})
	api.MarkReady()
	log.Info("podium server is ready", "url", url, "kubeconfig", kcPath)
	if ready != nil {
		ready(Running{URL: url, Kubeconfig: kcPath, Rest: restCfg})
	}

	agentErr := make(chan error, 1)
	if !cfg.DisableAgent {
		running.Go(func() {
			agentErr <- node.Run(runCtx, node.Config{
				ServerURL: url, Token: creds.JoinToken, CAPEM: creds.CAPEM, NodeName: cfg.NodeName,
				DataDir: filepath.Join(cfg.DataDir, "agent"), PodLogDir: cfg.PodLogDir, ClusterCIDR: cfg.ClusterCIDR,
				Port: cfg.AgentPort, Version: cfg.Version.GitVersion, Logger: log,
				BackOffBase: cfg.RestartBackOffBase, BackOffMax: cfg.RestartBackOffMax, MaxPods: cfg.MaxPods,
				ClusterDNS: dnsCfg.servers(), ClusterDomain: dnsCfg.domain, NodeIP: cfg.NodeIP, ServiceCIDR: cfg.ServiceCIDR,
				Sign: agentSigner(ca),
			})
		})
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	case err := <-agentErr:
		if err != nil {
			runErr = fmt.Errorf("node agent: %w", err)
		}
	case runErr = <-leaderLost:
	}
	log.Info("stopping")
	stop() // ends watches, so Shutdown does not wait for them
	// The agent and the controllers end while the API still answers them.
	running.Wait()
	// Requests in flight get a moment to finish; HTTP/2 clients that keep their
	// connections open would otherwise hold Shutdown for its GOAWAY grace of a second.
	shutCtx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
	}
	log.Debug("API server stopped")
	return runErr
}

func kubeconfig(url string, creds *pki.Credentials) *clientcmdapi.Config {
	c := clientcmdapi.NewConfig()
	c.Clusters["podium"] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: creds.CAPEM}
	c.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: creds.AdminToken}
	c.Contexts["podium"] = &clientcmdapi.Context{Cluster: "podium", AuthInfo: "admin", Namespace: "default"}
	c.CurrentContext = "podium"
	return c
}

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates the objects every cluster has, through the API like any client.
func bootstrap(ctx context.Context, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, name := range systemNamespaces {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	// The system PriorityClasses, as upstream's API server makes them at start.
	for _, pc := range priorityclass.SystemPriorityClasses() {
		_, err := cs.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating PriorityClass %s: %w", pc.Name, err)
		}
	}
	// The local-path StorageClass, the default, as k3s ships it; one that exists is
	// left as the user made it.
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, localpath.DefaultClass(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating StorageClass %s: %w", localpath.ClassName, err)
	}
	return rbacpolicy.Reconcile(ctx, cs)
}

// checkEtcdTLS refuses TLS files for the embedded etcd, and a client certificate
// without its key or the other way round.
func checkEtcdTLS(cfg Config) error {
	tls := cfg.EtcdCAFile != "" || cfg.EtcdCertFile != "" || cfg.EtcdKeyFile != ""
	switch {
	case tls && len(cfg.EtcdEndpoints) == 0:
		return errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile are for an external etcd: give --etcd-endpoints")
	case (cfg.EtcdCertFile == "") != (cfg.EtcdKeyFile == ""):
		return errors.New("--etcd-certfile and --etcd-keyfile go together")
	}
	return nil
}
