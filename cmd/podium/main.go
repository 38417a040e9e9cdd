// Command podium is a Kubernetes-compatible Pod platform in one program: `podium server`
// runs a control plane and a node, `podium agent` another node, `podium image` manages a
// node's images, and `podium kubectl` runs the real kubectl against the cluster.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
