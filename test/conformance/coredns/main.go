// Command coredns is CoreDNS with the plugins the conformance specs' DNS servers use
// (hosts and log), as the /coredns of upstream's agnhost image: the "configurable pod
// resolv.conf" spec runs it with a Corefile from a ConfigMap.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/log"
)

func init() { dnsserver.Directives = []string{"log", "hosts"} }

func main() { coremain.Run() }
