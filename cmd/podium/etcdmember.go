package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/podium/podium/internal/pki"
)

// newEtcdMemberCommand lists and removes the members of the embedded etcd cluster of
// servers, through the local server's member.
func newEtcdMemberCommand() *cobra.Command {
	var dataDir string
	var clientPort int
	cmd := &cobra.Command{
		Use:   "etcd-member",
		Short: "List and remove the servers' embedded etcd members",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", defaultDataDir, "the data directory of a server of the cluster")
	cmd.PersistentFlags().IntVar(&clientPort, "etcd-client-port", 2379, "loopback client port of that server's embedded etcd")
	// members returns a client of this server's member and the cluster's members.
	members := func(cmd *cobra.Command) (*clientv3.Client, *clientv3.MemberListResponse, error) {
		cfg, err := etcdClientConfig("https://127.0.0.1:"+strconv.Itoa(clientPort), pki.Files{Dir: dataDir}.Etcd())
		if err != nil {
			return nil, nil, err
		}
		c, err := clientv3.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		resp, err := c.MemberList(cmd.Context())
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return c, resp, nil
	}
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the members",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, resp, err := members(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tPEER URLS\tSTARTED")
			for _, m := range resp.Members {
				fmt.Fprintf(w, "%s\t%x\t%s\t%t\n", m.Name, m.ID, strings.Join(m.PeerURLs, ","), m.Name != "")
			}
			return w.Flush()
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove the member NAME (a server taken out of the cluster; stop it first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, resp, err := members(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			for _, m := range resp.Members {
				if m.Name == args[0] || fmt.Sprintf("%x", m.ID) == args[0] {
					if _, err := c.MemberRemove(cmd.Context(), m.ID); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Member %s removed.\n", args[0])
					return nil
				}
			}
			return fmt.Errorf("no member %q", args[0])
		},
	}
	cmd.AddCommand(ls, remove)
	return cmd
}
