package etcd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"

	"github.com/podium/podium/internal/pki"
)

// Config says where the embedded etcd keeps its data and listens.
type Config struct {
	// DataDir holds the member's data; it is created if missing.
	DataDir string
	// ClientPort and PeerPort are loopback ports; 2379 and 2380 by default.
	ClientPort, PeerPort int
	// CompactionRetention is how much history is kept; 5 minutes by default, as
	// kube-apiserver compacts.
	CompactionRetention time.Duration
	// TLS, when set, makes the member speak TLS to clients and peers and accept only
	// clients with a certificate from TLS.CA (and peers with a member's certificate).
	// Without it the member speaks plain HTTP (tests only).
	TLS *pki.EtcdFiles
	// Name is the member's name; "podium" when empty, as a server alone names it.
	Name string
	// PeerAddress is where the member listens for and is reached by its peers:
	// 127.0.0.1 when empty (a member alone). Clients are served on loopback only.
	PeerAddress string
	// InitialCluster, for a member joining a cluster, lists its members as
	// NAME=PEER-URL,... (this one included); empty starts a new cluster (or restarts a
	// member from its data).
	InitialCluster string
	// ForceNewCluster starts the member from its data as a cluster of one, forgetting
	// the others (after a loss of quorum).
	ForceNewCluster bool
}

// memberName is the name of a server's member when it is alone.
const memberName = "podium"

// Etcd is a running embedded etcd member.
type Etcd struct {
	e        *embed.Etcd
	endpoint string
	once     sync.Once
}

// Start starts the member and returns once it serves clients, or ctx ends.
func Start(ctx context.Context, cfg Config) (*Etcd, error) {
	if cfg.ClientPort == 0 {
		cfg.ClientPort = 2379
	}
	if cfg.PeerPort == 0 {
		cfg.PeerPort = 2380
	}
	if cfg.CompactionRetention == 0 {
		cfg.CompactionRetention = 5 * time.Minute
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	if cfg.Name == "" {
		cfg.Name = memberName
	}
	alone := cfg.PeerAddress == "" && cfg.InitialCluster == ""
	if cfg.PeerAddress == "" {
		cfg.PeerAddress = "127.0.0.1"
	}
	clientURL := url.URL{Scheme: scheme, Host: "127.0.0.1:" + strconv.Itoa(cfg.ClientPort)}
	peerURL := PeerURL(scheme, cfg.PeerAddress, cfg.PeerPort)

	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = filepath.Clean(cfg.DataDir)
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{clientURL}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	ec.InitialCluster = ec.Name + "=" + peerURL.String()
	if cfg.InitialCluster != "" {
		ec.InitialCluster, ec.ClusterState = cfg.InitialCluster, embed.ClusterStateFlagExisting
	}
	ec.ForceNewCluster = cfg.ForceNewCluster
	if t := cfg.TLS; t != nil {
		info := transport.TLSInfo{CertFile: t.ServerCert, KeyFile: t.ServerKey, TrustedCAFile: t.CA, ClientCertAuth: true}
		ec.ClientTLSInfo = info
		// Peers must be members: any other certificate of the cluster CA (a node's,
		// a user's) is refused on the peer port, which the network reaches.
		info.AllowedCNs = []string{pki.EtcdMemberCN}
		ec.PeerTLSInfo = info
	}
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = cfg.CompactionRetention.String()
	ec.LogLevel = "fatal" // its errors reach users as failed requests
	if alone {
		// A single member elects itself; short ticks make that quick.
		ec.TickMs, ec.ElectionMs = 10, 100
	}

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", cfg.DataDir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	out := &Etcd{e: e, endpoint: clientURL.String()}
	if !alone {
		// A member restored from a snapshot, or a server alone before, may be known
		// by another peer URL: its peers must reach it where it listens now.
		if err := out.advertise(ctx, peerURL.String()); err != nil {
			out.Close()
			return nil, err
		}
	}
	return out, nil
}

func (e *Etcd) advertise(ctx context.Context, peerURL string) error {
	c := e.Client()
	defer c.Close()
	resp, err := c.MemberList(ctx)
	if err != nil {
		return fmt.Errorf("embedded etcd members: %w", err)
	}
	id := uint64(e.e.Server.MemberID())
	for _, m := range resp.Members {
		if m.ID == id && (len(m.PeerURLs) != 1 || m.PeerURLs[0] != peerURL) {
			if _, err := c.MemberUpdate(ctx, id, []string{peerURL}); err != nil {
				return fmt.Errorf("advertising the member at %s: %w", peerURL, err)
			}
		}
	}
	return nil
}

// PeerURL is the peer URL of a member at address:port.
func PeerURL(scheme, address string, port int) url.URL {
	return url.URL{Scheme: scheme, Host: net.JoinHostPort(address, strconv.Itoa(port))}
}

// Name returns the member's name.
func (e *Etcd) Name() string { return e.e.Config().Name }

// Client returns a client that reaches the member in process, without a network
// round trip; it is closed with the member.
func (e *Etcd) Client() *clientv3.Client { return v3client.New(e.e.Server) }

// ClientTLS returns the TLS configuration of a client of a member started with files.
func ClientTLS(files pki.EtcdFiles) (*tls.Config, error) {
	return transport.TLSInfo{CertFile: files.ClientCert, KeyFile: files.ClientKey, TrustedCAFile: files.CA}.ClientConfig()
}

// Endpoint returns the member's client URL.
func (e *Etcd) Endpoint() string { return e.endpoint }

// Close stops the member; it is safe to call more than once.
func (e *Etcd) Close() {
	if e != nil && e.e != nil {
		e.once.Do(e.e.Close)
	}
}
