// Command etcd is etcd's own server, built from the etcd module podium embeds, for the
// stand-in of the etcd image the e2e suite's Aggregator spec runs.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
