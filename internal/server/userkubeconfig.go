package server

import (
	"fmt"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/podium/podium/internal/pki"
)

// UserKubeconfig returns a kubeconfig for user, a member of groups, that authenticates
// with a new client certificate of the cluster CA valid for validity; the server and CA
// are those of the admin kubeconfig in dataDir. What the user may do is RBAC's to say.
func UserKubeconfig(dataDir, user string, groups []string, validity time.Duration) ([]byte, error) {
	admin, err := clientcmd.LoadFromFile(KubeconfigPath(dataDir))
	if err != nil {
		return nil, fmt.Errorf("reading the server's kubeconfig: %w", err)
	}
	cluster := admin.Clusters["podium"]
	if cluster == nil {
		return nil, fmt.Errorf("%s has no cluster named podium", KubeconfigPath(dataDir))
	}
	certPEM, keyPEM, err := pki.IssueClient(pki.Files{Dir: dataDir}, user, groups, validity)
	if err != nil {
		return nil, err
	}
	c := clientcmdapi.NewConfig()
	c.Clusters["podium"] = cluster
	c.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	name := user + "@podium"
	c.Contexts[name] = &clientcmdapi.Context{Cluster: "podium", AuthInfo: user, Namespace: "default"}
	c.CurrentContext = name
	return clientcmd.Write(*c)
}
