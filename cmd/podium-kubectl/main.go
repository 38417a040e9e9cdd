// Command podium-kubectl is the real kubectl, built from k8s.io/kubectl. `podium kubectl`
// runs it with the server's admin kubeconfig; it lives in its own executable so that the
// long-running podium processes do not pay for linking kubectl.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	// client-go names its User-Agent after the executable, and the API server names the
	// field manager of a write after the User-Agent: as kubectl's, both read "kubectl".
	os.Args[0] = "kubectl"
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
