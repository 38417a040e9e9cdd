package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/podium/podium/internal/etcd"
	"github.com/podium/podium/internal/pki"
)

// etcdClientConfig is the configuration of a client of the etcd member at endpoint,
// with the certificates in files when it speaks TLS.
func etcdClientConfig(endpoint string, files pki.EtcdFiles) (clientv3.Config, error) {
	cfg := clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if strings.HasPrefix(endpoint, "https://") {
		tlsCfg, err := etcd.ClientTLS(files)
		if err != nil {
			return cfg, fmt.Errorf("etcd client TLS: %w", err)
		}
		cfg.TLS = tlsCfg
	}
	return cfg, nil
}

// snapshotDir is where a server's snapshots are kept, as k3s's server/db/snapshots.
func snapshotDir(dataDir string) string { return filepath.Join(dataDir, "db", "snapshots") }

func newEtcdSnapshotCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "etcd-snapshot",
		Short: "Save, list and restore snapshots of the server's datastore",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", defaultDataDir, "the server's data directory")

	var name string
	var clientPort int
	var endpoint, caFile, certFile, keyFile string
	save := &cobra.Command{
		Use:   "save",
		Short: "Save a snapshot of the running server's etcd into DATA_DIR/db/snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files := pki.Files{Dir: dataDir}.Etcd()
			if endpoint == "" {
				endpoint = "https://127.0.0.1:" + strconv.Itoa(clientPort)
			} else {
				files = pki.EtcdFiles{CA: caFile, ClientCert: certFile, ClientKey: keyFile}
			}
			cfg, err := etcdClientConfig(endpoint, files)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			path := filepath.Join(snapshotDir(dataDir), fmt.Sprintf("%s-%s-%d", name, host, time.Now().Unix()))
			if err := etcd.SaveSnapshot(cmd.Context(), cfg, path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Snapshot %s saved.\n", path)
			return nil
		},
	}
	save.Flags().StringVar(&name, "name", "on-demand", "the snapshot's name, before the host name and time")
	save.Flags().IntVar(&clientPort, "etcd-client-port", 2379, "loopback client port of the server's embedded etcd")
	save.Flags().StringVar(&endpoint, "etcd-endpoint", "", "one member of an external etcd cluster instead")
	save.Flags().StringVar(&caFile, "etcd-cafile", "", "CA file of the external etcd")
	save.Flags().StringVar(&certFile, "etcd-certfile", "", "client certificate file for the external etcd")
	save.Flags().StringVar(&keyFile, "etcd-keyfile", "", "key file of --etcd-certfile")

	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the saved snapshots",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := etcd.ListSnapshots(snapshotDir(dataDir))
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "Name\tLocation\tSize\tCreated")
			for _, s := range list {
				fmt.Fprintf(w, "%s\tfile://%s\t%d\t%s\n", s.Name, s.Path, s.Size, s.Created.UTC().Format(time.RFC3339))
			}
			return w.Flush()
		},
	}

	var peerPort int
	restore := &cobra.Command{
		Use:   "restore SNAPSHOT",
		Short: "Restore a snapshot into the stopped server's embedded etcd (its current data is kept beside)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if !strings.Contains(path, "/") {
				path = filepath.Join(snapshotDir(dataDir), path) // a name from ls
			}
			old, err := etcd.RestoreSnapshot(path, filepath.Join(dataDir, "etcd"), peerPort, true)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %s into %s", path, filepath.Join(dataDir, "etcd"))
			if old != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "; the data it replaced is in %s", old)
			}
			fmt.Fprintln(cmd.OutOrStdout(), ". Start the server.")
			return nil
		},
	}
	restore.Flags().IntVar(&peerPort, "etcd-peer-port", 2380, "loopback peer port the server's embedded etcd uses")
	cmd.AddCommand(save, ls, restore)
	return cmd
}
