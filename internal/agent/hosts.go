package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// clusterDomain is the DNS domain of the cluster's Services and pods.
const clusterDomain = "cluster.local"

// The first line of the /etc/hosts the agent writes, as upstream's kubelet writes it; tools
// (and upstream's tests) tell a managed file by it.
const (
	managedHostsHeader            = "# Kubernetes-managed hosts file.\n"
	managedHostsHeaderHostNetwork = "# Kubernetes-managed hosts file (host network).\n"
)

func (d podDirs) hostsFile(uid string) string { return filepath.Join(d.pod(uid), "etc-hosts") }

// podHostname returns a pod's host name (spec.hostname, else its name, cut to 63
// characters) and, when it names a subdomain, its domain.
func podHostname(pod *corev1.Pod) (hostname, domain string) {
	hostname = pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > 63 {
		hostname = hostname[:63]
	}
	if pod.Spec.Subdomain != "" {
		domain = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return hostname, domain
}

// hostsContent is the /etc/hosts of a pod's containers: for a pod on the host's
// network the node's own file, else localhost and the pod's IP with its names; then the
// pod's hostAliases.
func hostsContent(pod *corev1.Pod, podIP string, nodeHosts []byte) []byte {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		b.WriteString(managedHostsHeaderHostNetwork)
		b.Write(nodeHosts)
	} else {
		b.WriteString(managedHostsHeader)
		b.WriteString("127.0.0.1\tlocalhost\n")
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\n")
		b.WriteString("fe00::0\tip6-mcastprefix\n")
		b.WriteString("fe00::1\tip6-allnodes\n")
		b.WriteString("fe00::2\tip6-allrouters\n")
		if hostname, domain := podHostname(pod); domain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", podIP, hostname, domain, hostname)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

// writeHostsFile writes a pod's /etc/hosts at path, once it has an IP.
func writeHostsFile(path string, pod *corev1.Pod, podIP string) error {
	if podIP == "" {
		return nil
	}
	var nodeHosts []byte
	if pod.Spec.HostNetwork {
		var err error
		if nodeHosts, err = os.ReadFile("/etc/hosts"); err != nil {
			return fmt.Errorf("reading the node's /etc/hosts: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, hostsContent(pod, podIP, nodeHosts), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
