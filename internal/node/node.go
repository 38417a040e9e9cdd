package node

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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/agent/prober"
	"github.com/podium/podium/internal/connlimit"
	"github.com/podium/podium/internal/image"
	"github.com/podium/podium/internal/localpath"
	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/internal/proxy"
	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc"
)

// Config is what a node agent is started with.
type Config struct {
	// ServerURL is the API server, https://HOST:PORT.
	ServerURL string
	// Token is the join token: K10<CA hash>::<secret>, or the bare secret when CAPEM
	// is given.
	Token string
	// CAPEM, when set, is the cluster CA (the server's own agent knows it).
	CAPEM []byte
	// NodeName defaults to the host name.
	NodeName string
	// DataDir holds the agent's state: images, runtime, pods (DATA_DIR/agent).
	DataDir string
	// PodLogDir is where container logs go; /var/log/pods by default.
	PodLogDir string
	// ClusterCIDR is the whole pod network, for masquerade exemptions.
	ClusterCIDR string
	// ServiceCIDR is the range of the Services' cluster IPs (the server's
	// --service-cidr): traffic to one no Service has is dropped.
	ServiceCIDR string
	// Port is the agent's HTTPS port for logs, exec and port-forward (10250).
	Port int
	// BackOffBase and BackOffMax bound container restart back-off (10 s, 300 s).
	BackOffBase, BackOffMax time.Duration
	// MaxPods is the node's pod capacity (agent.MaxPods when 0).
	MaxPods int
	// NodeIP is the node's address for the cluster (its InternalIP); empty: the
	// host's first global IPv4 address.
	NodeIP string
	// ClusterDNS and ClusterDomain are the cluster DNS pods of dnsPolicy ClusterFirst
	// get; without ClusterDNS, they get the host's resolvers.
	ClusterDNS    []string
	ClusterDomain string
	Version       string
	Logger        *slog.Logger
	// Sign, when set, signs the node's certificates at once instead of asking for
	// them through the API (the server's own agent).
	Sign SignFunc
}

// agentConnections bounds the connections of the agent's endpoint (logs, exec, attach,
// port-forward, metrics), whose only legitimate client is the API server.
const agentConnections = 512

// Run joins the cluster and runs the agent until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if os.Geteuid() != 0 {
		return errors.New("the node agent must run as root (it mounts, makes namespaces and cgroups, and runs runc)")
	}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return err
		}
		cfg.NodeName = h
	}
	if cfg.PodLogDir == "" {
		cfg.PodLogDir = "/var/log/pods"
	}
	if cfg.Port == 0 {
		cfg.Port = 10250
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	base, secret, err := clientConfig(ctx, cfg)
	if err != nil {
		return err
	}
	apiServers, err := newServers(cfg.ServerURL, log)
	if err != nil {
		return err
	}
	base.Dial = apiServers.DialContext
	base.TLSClientConfig.ServerName = serverName
	info := agent.HostNodeInfo(cfg.NodeName, cfg.DataDir)
	if cfg.NodeIP != "" {
		if ip := net.ParseIP(cfg.NodeIP); ip == nil || ip.To4() == nil {
			return fmt.Errorf("node IP %q is not an IPv4 address", cfg.NodeIP)
		}
		info.InternalIP = cfg.NodeIP
	}
	certs, err := startCerts(ctx, cfg, base, secret, info.InternalIP, cfg.Sign, log)
	if err != nil {
		return err
	}
	if err := certs.waitClient(ctx, cfg.NodeName, log); err != nil {
		return err
	}
	restCfg := certs.clientConfig(base)
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	if err := apiServers.watch(ctx, client); err != nil {
		return err
	}
	certs.startServing()
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("agent endpoint: %w", err)
	}
	caPool := x509.NewCertPool()
	if !caPool.AppendCertsFromPEM(base.CAData) {
		return errors.New("the cluster CA is not PEM")
	}
	info.KubeletVersion = cfg.Version
	info.MaxPods = cfg.MaxPods
	info.RuntimeVersion = "runc://" + runcVersion()
	info.KubeletPort = int32(ln.Addr().(*net.TCPAddr).Port)

	endpoint := &lazyHandler{}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var a *agent.Agent
	a = agent.New(agent.Config{
		NodeName: cfg.NodeName, Client: client, Info: info,
		DataDir: filepath.Join(cfg.DataDir, "pods-data"), PodLogDir: cfg.PodLogDir,
		BackOffBase: cfg.BackOffBase, BackOffMax: cfg.BackOffMax, Logger: log,
		ProbeMetrics: prober.NewMetrics(metrics),
		SyncRoutes:   network.SyncRoutes,
		DNS:          agent.DNS{Servers: cfg.ClusterDNS, Domain: cfg.ClusterDomain},
		ServiceProxy: func(f informers.SharedInformerFactory) (func(context.Context), error) {
			p, err := proxy.New(f, proxy.Config{NodeName: cfg.NodeName, ClusterCIDR: cfg.ClusterCIDR, ServiceCIDR: cfg.ServiceCIDR, NetworkPolicies: true, Logger: log})
			if err != nil {
				return nil, err
			}
			return p.Run, nil
		},
		NewRuntime: func(podCIDR string) (runtime.Runtime, runtime.ImageService, error) {
			images, err := image.New(image.Config{Root: filepath.Join(cfg.DataDir, "images"),
				RegistriesFile: filepath.Join(filepath.Dir(cfg.DataDir), "registries.yaml"), Logger: log})
			if err != nil {
				return nil, nil, err
			}
			nw, err := network.New(network.Config{PodCIDR: podCIDR, ClusterCIDR: cfg.ClusterCIDR,
				StateDir: filepath.Join(cfg.DataDir, "network"), Logger: log})
			if err != nil {
				return nil, nil, err
			}
			r, err := runc.New(runc.Config{StateDir: filepath.Join(cfg.DataDir, "runtime"), Images: images, Network: nw, Logger: log})
			if err != nil {
				return nil, nil, err
			}
			mux := agentMux(a, r, metrics, log)
			mux.Handle("/localPath/", localpath.Handler(filepath.Join(cfg.DataDir, "storage")))
			endpoint.set(newGuard(cfg.NodeName, client).wrap(mux))
			return r, images, nil
		},
	})
	// Only the API server has business here: a few connections are plenty, and clients
	// that do not authenticate get a small share of them.
	if _, err := connlimit.RaiseFileLimit(); err != nil {
		return fmt.Errorf("raising the limit of open files: %w", err)
	}
	limited := connlimit.NewListener(ln, agentConnections, agentConnections/4)
	srv := &http.Server{
		Handler: endpoint,
		// The API server (and any other client) presents a certificate of the
		// cluster CA; the agent serves the one the cluster CA issued for its name
		// and address.
		TLSConfig: &tls.Config{GetCertificate: certs.getCertificate, MinVersion: tls.VersionTLS12,
			ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: caPool},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ConnContext:       connlimit.ConnContext,
	}
	go func() { _ = srv.ServeTLS(limited, "", "") }()
	defer srv.Close()
	return a.Run(ctx)
}

// The agent's client-side rate limit. Upstream's kubelet allows 50 requests a second
// (burst 100), and 100 pods started at once need about five requests each (status
// writes and events): at that rate the start of a burst waits on the limiter for
// seconds. The server bounds what it serves at once itself (429 with Retry-After, which
// client-go honours), so the agent may ask faster.
const agentQPS, agentBurst = 200, 400

// clientConfig returns the agent's API client configuration without credentials (the
// server and its CA, from cfg or fetched from the server and checked against the join
// token's hash) and the join token's secret.
func clientConfig(ctx context.Context, cfg Config) (*rest.Config, string, error) {
	caHash, secret, err := pki.ParseJoinToken(cfg.Token)
	if err != nil {
		return nil, "", err
	}
	caPEM := cfg.CAPEM
	caFile := filepath.Join(cfg.DataDir, "server-ca.crt")
	if caPEM == nil && caHash != nil {
		var found []byte
		u := cfg.ServerURL
		host := u[len("https://"):]
		if i := len(host) - 1; i >= 0 && host[i] == '/' {
			host = host[:i]
		}
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: pki.VerifyChainByHash(caHash, &found)}}
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return nil, "", fmt.Errorf("checking the server at %s against the join token: %w", cfg.ServerURL, err)
		}
		conn.Close()
		caPEM = found
		if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
			return nil, "", err
		}
	}
	if caPEM == nil {
		if data, err := os.ReadFile(caFile); err == nil {
			caPEM = data
		} else {
			return nil, "", errors.New("the join token has no CA hash and no CA is known: use the token `podium server token` prints")
		}
	}
	return &rest.Config{
		Host:            cfg.ServerURL,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		// Its writes are recorded in managedFields as the kubelet's are: the manager is
		// the User-Agent up to its first "/".
		UserAgent: "kubelet/" + cfg.Version + " (podium-agent " + cfg.NodeName + ")",
		QPS:       agentQPS, Burst: agentBurst,
	}, secret, nil
}

// runcVersion returns the version runc reports ("1.1.5"), or "unknown".
func runcVersion() string {
	out, err := exec.Command("runc", "--version").Output()
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	v := strings.TrimPrefix(strings.TrimSpace(first), "runc version ")
	v, _, _ = strings.Cut(v, "+")
	return v
}

// lazyHandler serves the agent's endpoint once the runtime exists; before, 503.
type lazyHandler struct {
	h atomic.Value // http.Handler
}

func (l *lazyHandler) set(h http.Handler) { l.h.Store(h) }

func (l *lazyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := l.h.Load().(http.Handler)
	if !ok {
		http.Error(w, "the node agent is starting", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}
