package network

import (
	"encoding/json"
	"fmt"
	"strings"
)

// masqMarkBit is the packet mark bit portmap sets on hostPort traffic that needs
// masquerading (its default, written out so the cluster exemption rule can skip it).
const masqMarkBit = 13

// The CNI configuration, as the plugins read it. Only the fields podium sets.
type (
	confList struct {
		CNIVersion string `json:"cniVersion"`
		Name       string `json:"name"`
		Plugins    []any  `json:"plugins"`
	}
	bridgeConf struct {
		Type        string   `json:"type"`
		Bridge      string   `json:"bridge"`
		IsGateway   bool     `json:"isGateway"`
		HairpinMode bool     `json:"hairpinMode"`
		MTU         int      `json:"mtu,omitempty"`
		IPAM        ipamConf `json:"ipam"`
	}
	ipamConf struct {
		Type    string        `json:"type"`
		Ranges  [][]ipamRange `json:"ranges"`
		Routes  []ipamRoute   `json:"routes"`
		DataDir string        `json:"dataDir"`
	}
	ipamRange struct {
		Subnet string `json:"subnet"`
	}
	ipamRoute struct {
		Dst string `json:"dst"`
	}
	portmapConf struct {
		Type         string          `json:"type"`
		Capabilities map[string]bool `json:"capabilities"`
		SNAT         bool            `json:"snat"`
		MarkMasqBit  int             `json:"markMasqBit"`
	}
	loopbackConf struct {
		CNIVersion string `json:"cniVersion"`
		Name       string `json:"name"`
		Type       string `json:"type"`
	}
)

// podNetworkConf is the conflist of a pod's eth0: bridge with host-local addresses from the
// pod CIDR, then, when withPortmap, portmap for hostPorts (a pod without hostPorts is
// spared its exec). The bridge does not
// masquerade: its per-pod iptables chain costs about ten iptables runs an ADD, and one
// node-wide rule does the same (hostRules).
func podNetworkConf(s *settings, withPortmap bool) ([]byte, error) {
	plugins := []any{
		bridgeConf{
			Type:        "bridge",
			Bridge:      s.BridgeName,
			IsGateway:   true,
			HairpinMode: true,
			MTU:         s.MTU,
			IPAM: ipamConf{
				Type:    "host-local",
				Ranges:  [][]ipamRange{{{Subnet: s.podCIDR.String()}}},
				Routes:  []ipamRoute{{Dst: "0.0.0.0/0"}},
				DataDir: s.ipamDir(),
			},
		},
	}
	if withPortmap {
		plugins = append(plugins, portmapConf{
			Type:         "portmap",
			Capabilities: map[string]bool{"portMappings": true},
			SNAT:         true,
			MarkMasqBit:  masqMarkBit,
		})
	}
	return json.Marshal(confList{CNIVersion: cniVersion, Name: networkName, Plugins: plugins})
}

// masquerades reports whether the bridge of a conflist (as cached at ADD) masquerades on
// its own, as podium's bridge did before the node-wide rule.
func masquerades(conflist []byte) bool {
	var l struct {
		Plugins []struct {
			Type   string `json:"type"`
			IPMasq bool   `json:"ipMasq"`
		} `json:"plugins"`
	}
	if json.Unmarshal(conflist, &l) != nil {
		return false
	}
	for _, p := range l.Plugins {
		if p.Type == "bridge" && p.IPMasq {
			return true
		}
	}
	return false
}

// loopbackNetworkConf is the configuration of the loopback attachment older podiums ran.
func loopbackNetworkConf() ([]byte, error) {
	return json.Marshal(loopbackConf{CNIVersion: cniVersion, Name: loopbackName, Type: "loopback"})
}

// portMapEntry is one element of the portMappings capability argument.
type portMapEntry struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// capabilityArgs turns hostPorts into libcni's capability arguments. Mappings with no
// HostPort are not hostPorts and are left out; nil means no hostPorts.
func capabilityArgs(ports []PortMapping) (map[string]any, error) {
	var entries []portMapEntry
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		if p.HostPort < 0 || p.HostPort > 65535 || p.ContainerPort <= 0 || p.ContainerPort > 65535 {
			return nil, fmt.Errorf("hostPort %d -> containerPort %d: port out of range", p.HostPort, p.ContainerPort)
		}
		proto := strings.ToLower(p.Protocol)
		switch proto {
		case "":
			proto = "tcp"
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("hostPort %d: unknown protocol %q", p.HostPort, p.Protocol)
		}
		entries = append(entries, portMapEntry{
			HostPort:      int(p.HostPort),
			ContainerPort: int(p.ContainerPort),
			Protocol:      proto,
			HostIP:        p.HostIP,
		})
	}
	if len(entries) == 0 {
		return nil, nil
	}
	return map[string]any{"portMappings": entries}, nil
}

// cniArgs are the CNI_ARGS upstream runtimes pass for a pod (empty values left out);
// IgnoreUnknown keeps plugins that do not know them (host-local) from failing.
func cniArgs(pod Pod) [][2]string {
	args := [][2]string{{"IgnoreUnknown", "1"}}
	for _, kv := range [][2]string{
		{"K8S_POD_NAMESPACE", pod.Namespace},
		{"K8S_POD_NAME", pod.Name},
		{"K8S_POD_INFRA_CONTAINER_ID", pod.ID},
		{"K8S_POD_UID", pod.UID},
	} {
		if kv[1] != "" {
			args = append(args, kv)
		}
	}
	return args
}
