package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestHostsContent(t *testing.T) {
	const local = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
	aliases := []corev1.HostAlias{{IP: "123.45.67.89", Hostnames: []string{"foo", "bar"}}}
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want string
	}{
		{"plain", corev1.PodSpec{}, "# Kubernetes-managed hosts file.\n" + local + "10.42.0.7\tweb\n"},
		{"hostname and subdomain", corev1.PodSpec{Hostname: "web-0", Subdomain: "nginx"},
			"# Kubernetes-managed hosts file.\n" + local + "10.42.0.7\tweb-0.nginx.default.svc.cluster.local\tweb-0\n"},
		{"host aliases", corev1.PodSpec{HostAliases: aliases},
			"# Kubernetes-managed hosts file.\n" + local + "10.42.0.7\tweb\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n"},
		{"host network", corev1.PodSpec{HostNetwork: true, HostAliases: aliases},
			"# Kubernetes-managed hosts file (host network).\n127.0.0.1 node\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tc.spec}
			pod.Name, pod.Namespace = "web", "default"
			if got := string(hostsContent(pod, "10.42.0.7", []byte("127.0.0.1 node\n"))); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
