package agent

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

// TestPodDNS: each dnsPolicy gives the resolv.conf upstream's kubelet writes.
func TestPodDNS(t *testing.T) {
	host := []byte("# host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch example.com. corp.example.com\noptions rotate timeout:2\n")
	cluster := DNS{Servers: []string{"10.43.0.10"}}
	pod := func(policy corev1.DNSPolicy, hostNet bool, cfg *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, Spec: corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: cfg}}
	}
	clusterFirst := &runtimeapi.DNSConfig{Servers: []string{"10.43.0.10"},
		Searches: []string{"team.svc.cluster.local", "svc.cluster.local", "cluster.local", "example.com", "corp.example.com"}, Options: []string{"ndots:5"}}
	hostDNS := &runtimeapi.DNSConfig{Servers: []string{"192.0.2.53", "192.0.2.54"}, Searches: []string{"example.com", "corp.example.com"},
		Options: []string{"rotate", "timeout:2"}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		dns  DNS
		want *runtimeapi.DNSConfig
		ok   bool
	}{
		{"ClusterFirst", pod(corev1.DNSClusterFirst, false, nil), cluster, clusterFirst, true},
		{"unset is ClusterFirst", pod("", false, nil), cluster, clusterFirst, true},
		{"ClusterFirst on the host network is Default", pod(corev1.DNSClusterFirst, true, nil), cluster, hostDNS, true},
		{"ClusterFirstWithHostNet", pod(corev1.DNSClusterFirstWithHostNet, true, nil), cluster, clusterFirst, true},
		{"Default", pod(corev1.DNSDefault, false, nil), cluster, hostDNS, true},
		{"ClusterFirst without a cluster DNS", pod(corev1.DNSClusterFirst, false, nil), DNS{}, hostDNS, false},
		{"None with dnsConfig", pod(corev1.DNSNone, false, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "edns0"}}}), cluster,
			&runtimeapi.DNSConfig{Servers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []string{"ndots:2", "edns0"}}, true},
		{"ClusterFirst with dnsConfig merged", pod(corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{
			Nameservers: []string{"10.43.0.10", "1.1.1.1", "8.8.8.8", "9.9.9.9"}, Searches: []string{"svc.cluster.local", "x.example"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}}}), DNS{Servers: []string{"10.43.0.10"}, Domain: "k8s.test"},
			&runtimeapi.DNSConfig{Servers: []string{"10.43.0.10", "1.1.1.1", "8.8.8.8"},
				Searches: []string{"team.svc.k8s.test", "svc.k8s.test", "k8s.test", "example.com", "corp.example.com", "svc.cluster.local", "x.example"},
				Options:  []string{"ndots:1"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := podDNS(tc.pod, tc.dns, host)
			if ok != tc.ok || !reflect.DeepEqual(got.Servers, tc.want.Servers) || !reflect.DeepEqual(got.Searches, tc.want.Searches) ||
				!reflect.DeepEqual(got.Options, tc.want.Options) {
				t.Errorf("got %v %v, want %v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
