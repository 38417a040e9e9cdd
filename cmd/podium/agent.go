package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/component-base/version"

	"github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/node"
	"github.com/podium/podium/internal/nodeipam"
	"github.com/podium/podium/internal/servicealloc"
)

func newAgentCommand() *cobra.Command {
	var cfg node.Config
	var dataDir string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "agent --server URL --token TOKEN",
		Short: "Run a worker node: the node agent and its container runtime",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.ServerURL == "" || cfg.Token == "" {
				return errors.New("--server and --token are required (the token is what `podium server token` prints)")
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			cfg.DataDir = filepath.Join(dataDir, "agent")
			cfg.Version = version.Get().GitVersion
			if err := agent.ValidateMaxPods(cfg.MaxPods); err != nil {
				return err
			}
			return node.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ServerURL, "server", "", "URL of the API server, https://HOST:6443")
	f.StringVar(&cfg.Token, "token", "", "join token, as `podium server token` prints it")
	f.StringVar(&cfg.NodeName, "node-name", "", "name of this node (default: the host name)")
	f.StringVar(&cfg.NodeIP, "node-ip", "", "IPv4 address of this node for the cluster (default: the host's first global IPv4 address)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir, "directory for state: images, containers, pod files")
	f.StringVar(&cfg.PodLogDir, "pod-log-dir", "/var/log/pods", "directory for container logs")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", nodeipam.DefaultClusterCIDR, "the cluster's pod network (as the server's --cluster-cidr)")
	f.StringVar(&cfg.ServiceCIDR, "service-cidr", servicealloc.DefaultServiceCIDR, "the Services' cluster IP range (as the server's --service-cidr)")
	f.StringSliceVar(&cfg.ClusterDNS, "cluster-dns", []string{"10.43.0.10"}, "nameservers of pods of dnsPolicy ClusterFirst (the server's --cluster-dns)")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain (the server's --cluster-domain)")
	f.IntVar(&cfg.Port, "agent-port", 10250, "port of the agent's HTTPS endpoint for logs, exec and port-forward")
	f.DurationVar(&cfg.BackOffBase, "restart-backoff-base", 10*time.Second, "first delay before a crashed container restarts again")
	f.IntVar(&cfg.MaxPods, "max-pods", agent.MaxPods, "pods this node takes")
	f.DurationVar(&cfg.BackOffMax, "restart-backoff-max", 300*time.Second, "longest delay before a crashed container restarts")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	cmd.AddCommand(newAgentUninstallCommand())
	return cmd
}

func newAgentUninstallCommand() *cobra.Command {
	var dataDir string
	var keepData bool
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what a stopped node left on this host: pods, pod network, service rules, data",
		Long: "Removes what the node agent (of `podium agent`, or the one `podium server` runs) left on this host\n" +
			"after it stopped: its pods' containers, network attachments and mounts, the pod network's bridge\n" +
			"and rules, the service rules (nftables table ip podium), and its data under DATA-DIR/agent.\n" +
			"It refuses while a node runs here. The Node object stays in the cluster: `kubectl delete node NAME`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return node.Uninstall(cmd.Context(), filepath.Join(dataDir, "agent"), keepData)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir, "the node's data directory")
	cmd.Flags().BoolVar(&keepData, "keep-data", false, "keep DATA-DIR/agent (images, pod volumes)")
	return cmd
}
