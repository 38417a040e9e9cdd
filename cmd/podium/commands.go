package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/component-base/version"

	"github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/nodeipam"
	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/internal/server"
	"github.com/podium/podium/internal/servicealloc"
)

const defaultDataDir = "/var/lib/podium"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "podium",
		Short:         "A Kubernetes-compatible Pod platform in one program",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCommand(), newAgentCommand(), newKubeconfigCommand(), newImageCommand(), newKubectlCommand(), newVersionCommand(), newEtcdSnapshotCommand(), newEtcdMemberCommand())
	return root
}

func newServerCommand() *cobra.Command {
	var cfg server.Config
	var etcdEndpoints string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane and an agent for this node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			if etcdEndpoints != "" {
				cfg.EtcdEndpoints = strings.Split(etcdEndpoints, ",")
			}
			cfg.Version = version.Get()
			if err := agent.ValidateMaxPods(cfg.MaxPods); err != nil {
				return err
			}
			return server.Run(cmd.Context(), cfg, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", defaultDataDir, "directory for state: etcd data, credentials, kubeconfig")
	f.IntVar(&cfg.Port, "https-listen-port", 6443, "port of the HTTPS API")
	f.StringVar(&cfg.BindAddress, "bind-address", "0.0.0.0", "address the API listens on")
	f.StringVar(&etcdEndpoints, "etcd-endpoints", "", "comma-separated client URLs of an external etcd cluster (default: embedded etcd)")
	f.BoolVar(&cfg.ClusterInit, "cluster-init", false, "start the embedded etcd as the first member of a cluster of servers, which others join with --server and --token")
	f.StringVar(&cfg.ServerURL, "server", "", "a server of the cluster to join, as another embedded etcd member (https://SERVER:6443); needs --token")
	f.BoolVar(&cfg.ClusterReset, "cluster-reset", false, "start the embedded etcd member as a cluster of one from its data, forgetting the others (after losing quorum)")
	f.StringVar(&cfg.ClusterResetRestorePath, "cluster-reset-restore-path", "", "with --cluster-reset, a snapshot (podium etcd-snapshot save) to restore into the embedded etcd first")
	f.StringVar(&cfg.Token, "token", "", "the cluster's token (as `podium server token` prints it on its first server): a server after the first takes the cluster's identity with it")
	f.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA file that verifies the external etcd's members (default: the system's roots)")
	f.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate file presented to the external etcd")
	f.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "key file of --etcd-certfile")
	f.IntVar(&cfg.EtcdClientPort, "etcd-client-port", 2379, "loopback client port of the embedded etcd")
	f.IntVar(&cfg.EtcdPeerPort, "etcd-peer-port", 2380, "loopback peer port of the embedded etcd")
	f.BoolVar(&cfg.DisableAgent, "disable-agent", false, "do not run a node agent in this process")
	f.BoolVar(&cfg.DisableScheduler, "disable-scheduler", false, "do not run the scheduler in this process")
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may go without renewing its Lease or posting status before it is marked Unknown")
	f.StringVar(&cfg.NodeName, "node-name", "", "name of this server's node (default: the host name)")
	f.StringVar(&cfg.NodeIP, "node-ip", "", "IPv4 address of this server's node for the cluster (default: the host's first global IPv4 address)")
	f.StringVar(&cfg.PodLogDir, "pod-log-dir", "/var/log/pods", "directory for container logs")
	f.IntVar(&cfg.AgentPort, "agent-port", 10250, "port of the node agent's HTTPS endpoint")
	f.DurationVar(&cfg.RestartBackOffBase, "restart-backoff-base", 10*time.Second, "first delay before a crashed container restarts again")
	f.IntVar(&cfg.MaxPods, "max-pods", agent.MaxPods, "pods this server's node takes")
	f.DurationVar(&cfg.RestartBackOffMax, "restart-backoff-max", 300*time.Second, "longest delay before a crashed container restarts")
	f.StringVar(&cfg.AdvertiseAddress, "advertise-address", "", "address of the API server for pods and nodes (default: the bind address, or the host's first IPv4 address)")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", nodeipam.DefaultClusterCIDR, "IPv4 range of pod IPs; each node gets a /24 of it")
	f.StringVar(&cfg.ServiceCIDR, "service-cidr", servicealloc.DefaultServiceCIDR, "IPv4 range of Services' cluster IPs")
	f.StringVar(&cfg.ClusterDNS, "cluster-dns", "", "cluster IP of the cluster DNS, Service kube-system/kube-dns (default: the tenth address of --service-cidr)")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	f.IntVar(&cfg.DNSPort, "dns-port", 53, "port the cluster DNS answers on, at the advertised address")
	f.BoolVar(&cfg.DisableDNS, "disable-dns", false, "run no cluster DNS; pods get the host's resolvers")
	f.StringArrayVar(&cfg.TLSSANs, "tls-san", nil, "extra name or IP for the serving certificate (repeatable)")
	f.StringVar(&cfg.WriteKubeconfig, "write-kubeconfig", "", "also write the admin kubeconfig to this path")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	cmd.AddCommand(newTokenCommand())
	return cmd
}

func newTokenCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print the token that agents join the cluster with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := pki.Files{Dir: dataDir}
			secret, err := pki.ReadJoinToken(f)
			if err != nil {
				return err
			}
			caPEM, err := os.ReadFile(f.CACert())
			if err != nil {
				return fmt.Errorf("reading the cluster CA: %w", err)
			}
			t, err := pki.FullJoinToken(caPEM, secret)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir, "the server's data directory")
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := version.Get()
			fmt.Fprintf(cmd.OutOrStdout(), "podium %s (kubernetes %s, %s, %s)\n", podiumVersion, v.GitVersion, v.GoVersion, v.Platform)
		},
	}
}

// podiumVersion is set at build time.
var podiumVersion = "dev"

// newKubectlCommand runs podium-kubectl, found beside this executable or on PATH, with
// the server's admin kubeconfig unless KUBECONFIG or --kubeconfig says otherwise. It
// replaces this process, so that signals (a kill of a background `podium kubectl
// port-forward`, Ctrl-C of `logs -f`) and the exit code are kubectl's own.
func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run kubectl against this cluster",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			bin, err := findKubectl()
			if err != nil {
				return err
			}
			env := os.Environ()
			if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
				dir := os.Getenv("PODIUM_DATA_DIR")
				if dir == "" {
					dir = defaultDataDir
				}
				env = append(env, "KUBECONFIG="+server.KubeconfigPath(dir))
			}
			return fmt.Errorf("running %s: %w", bin, syscall.Exec(bin, append([]string{bin}, args...), env))
		},
	}
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") {
			return true
		}
	}
	return false
}

func findKubectl() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "podium-kubectl")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("podium-kubectl")
	if err != nil {
		return "", errors.New("podium-kubectl not found beside podium or on PATH; build it with `make build`")
	}
	return p, nil
}

func newKubeconfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Make kubeconfigs for the cluster's users",
	}
	var (
		dataDir  string
		groups   []string
		validity time.Duration
	)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Print a kubeconfig for user NAME, with a client certificate of the cluster CA",
		Long: "Prints a kubeconfig for user NAME (in the groups --group names) that authenticates with a\n" +
			"new client certificate signed by the cluster CA. The user may do only what RBAC allows:\n" +
			"bind a role to it, for example `kubectl create rolebinding NAME-view --clusterrole=view --user=NAME`.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := server.UserKubeconfig(dataDir, args[0], groups, validity)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	create.Flags().StringVar(&dataDir, "data-dir", defaultDataDir, "the server's data directory")
	create.Flags().StringSliceVar(&groups, "group", nil, "a group the user is in (repeatable)")
	create.Flags().DurationVar(&validity, "expiration", 365*24*time.Hour, "how long the certificate is valid")
	cmd.AddCommand(create)
	return cmd
}
