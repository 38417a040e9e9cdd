package agent

import (
	"bufio"
	"bytes"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DNS is the cluster DNS the agent points pods at, as the kubelet's --cluster-dns and
// --cluster-domain.
type DNS struct {
	// Servers are the cluster DNS addresses; without them, pods of policy ClusterFirst
	// get the host's resolvers, as upstream.
	Servers []string
	// Domain is the cluster's DNS domain ("cluster.local" when empty).
	Domain string
}

// Upstream's limits on what a pod's resolv.conf may hold.
const (
	maxNameservers = 3
	maxSearches    = 32
	maxSearchChars = 2048
)

// podDNS returns the resolver configuration of pod's sandbox under its dnsPolicy, with
// its dnsConfig merged in, as upstream's kubelet writes it; host is the node's
// resolv.conf. ok is false when the pod asked for the cluster DNS and none is
// configured (it gets the host's resolvers then).
func podDNS(pod *corev1.Pod, cfg DNS, host []byte) (dns *runtimeapi.DNSConfig, ok bool) {
	domain := cfg.Domain
	if domain == "" {
		domain = "cluster.local"
	}
	hostServers, hostSearches, hostOptions := parseResolvConf(host)
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	cluster := policy == corev1.DNSClusterFirstWithHostNet || (policy == corev1.DNSClusterFirst && !pod.Spec.HostNetwork)
	ok = true
	if cluster && len(cfg.Servers) == 0 {
		cluster, ok = false, false
	}
	dns = &runtimeapi.DNSConfig{}
	switch {
	case policy == corev1.DNSNone:
	case cluster:
		dns.Servers = slices.Clone(cfg.Servers)
		dns.Searches = dedupe(append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, hostSearches...))
		dns.Options = []string{"ndots:5"}
	default:
		dns.Servers, dns.Searches, dns.Options = hostServers, hostSearches, hostOptions
	}
	if c := pod.Spec.DNSConfig; c != nil {
		dns.Servers = dedupe(append(dns.Servers, c.Nameservers...))
		dns.Searches = dedupe(append(dns.Searches, c.Searches...))
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			dns.Options = mergeOption(dns.Options, o.Name, opt)
		}
	}
	if len(dns.Servers) > maxNameservers {
		dns.Servers = dns.Servers[:maxNameservers]
	}
	dns.Searches = fitSearches(dns.Searches)
	return dns, ok
}

// parseResolvConf reads the nameservers, search domains (without trailing dots) and
// options of a resolv.conf; the last search or domain line wins, as in the resolver.
func parseResolvConf(data []byte) (servers, searches, options []string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				servers = append(servers, f[1])
			}
		case "search", "domain":
			searches = nil
			for _, s := range f[1:] {
				if s = strings.TrimSuffix(s, "."); s != "" {
					searches = append(searches, s)
				}
			}
		case "options":
			for _, o := range f[1:] {
				name, _, _ := strings.Cut(o, ":")
				options = mergeOption(options, name, o)
			}
		}
	}
	return servers, searches, options
}

// mergeOption sets option name to opt ("name" or "name:value"), replacing an earlier one.
func mergeOption(options []string, name, opt string) []string {
	for i, o := range options {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			options[i] = opt
			return options
		}
	}
	return append(options, opt)
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// fitSearches keeps the search domains within upstream's limits, dropping those past
// them.
func fitSearches(s []string) []string {
	chars := 0
	for i, d := range s {
		chars += len(d) + 1
		if i == maxSearches || chars > maxSearchChars {
			return s[:i]
		}
	}
	return s
}
