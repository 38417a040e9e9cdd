package proxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"maps"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/knftables"

	"github.com/podium/podium/internal/proxy/netpol"
)

// tableName is the nftables table of the ip family that holds every rule of podium's.
const tableName = "podium"

// proxyNameLabel names the proxy that serves a Service instead of the default one.
const proxyNameLabel = "service.kubernetes.io/service-proxy-name"

// masqMark is the packet mark bit of traffic to be masqueraded on its way out (the
// bit kube-proxy uses; the CNI portmap plugin uses 0x2000).
const masqMark = "0x4000"

// The chains every table has.
const (
	servicesChain        = "services"
	masqueradingChain    = "masquerading"
	markMasqChain        = "mark-for-masquerade"
	serviceEndpointsChk  = "service-endpoints-check"
	nodePortEndpointsChk = "nodeport-endpoints-check"
	clusterIPsCheckChain = "cluster-ips-check"
	rejectChain          = "reject-chain"
)

// The maps and the set every table has.
const (
	serviceIPsMap          = "service-ips"
	serviceNodePortsMap    = "service-nodeports"
	noEndpointServicesMap  = "no-endpoint-services"
	noEndpointNodePortsMap = "no-endpoint-nodeports"
	clusterIPsSet          = "cluster-ips"
)

const (
	addrProtoPort = "ipv4_addr . inet_proto . inet_service : verdict"
	protoPort     = "inet_proto . inet_service : verdict"
)

// containers are the maps and sets of every table, with their types.
var containers = []struct {
	name, typ string
	isSet     bool
}{
	{serviceIPsMap, addrProtoPort, false},
	{serviceNodePortsMap, protoPort, false},
	{noEndpointServicesMap, addrProtoPort, false},
	{noEndpointNodePortsMap, protoPort, false},
	{clusterIPsSet, "ipv4_addr", true},
}

// baseChain is a chain hooked into the kernel's packet path.
type baseChain struct {
	name  string
	typ   knftables.BaseChainType
	hook  knftables.BaseChainHook
	prio  knftables.BaseChainPriority
	rules []string
}

// baseChains: DNAT before routing (and for the node's own traffic), masquerading after
// it, and the filter checks for Service ports without endpoints, which run after DNAT,
// so they see only traffic no endpoint took.
var baseChains = []baseChain{
	{"filter-input", knftables.FilterType, knftables.InputHook, knftables.FilterPriority,
		[]string{"ct state new jump " + nodePortEndpointsChk, "ct state new jump " + serviceEndpointsChk}},
	{"filter-forward", knftables.FilterType, knftables.ForwardHook, knftables.FilterPriority,
		[]string{"ct state new jump " + serviceEndpointsChk, "ct state new jump " + clusterIPsCheckChain}},
	{"filter-output", knftables.FilterType, knftables.OutputHook, knftables.FilterPriority,
		[]string{"ct state new jump " + serviceEndpointsChk, "ct state new jump " + clusterIPsCheckChain}},
	{"nat-prerouting", knftables.NATType, knftables.PreroutingHook, knftables.DNATPriority, []string{"jump " + servicesChain}},
	{"nat-output", knftables.NATType, knftables.OutputHook, knftables.DNATPriority, []string{"jump " + servicesChain}},
	{"nat-postrouting", knftables.NATType, knftables.PostroutingHook, knftables.SNATPriority, []string{"jump " + masqueradingChain}},
}

// element is one element of a map (with a value) or a set (without).
type element struct {
	key, value []string
}

// ruleset is the table's content besides its base chains: regular chains with their
// rules, the elements of each map and set, the session-affinity sets with their
// timeouts in seconds, and the sets of the NetworkPolicy rules.
type ruleset struct {
	chains   map[string][]string
	elements map[string]map[string]element
	affinity map[string]int32
	sets     map[string]setDef
}

// setDef is the type and flags of a set of the NetworkPolicy rules.
type setDef struct {
	typ   string
	flags []knftables.SetFlag
}

func newRuleset() *ruleset {
	r := &ruleset{chains: map[string][]string{}, elements: map[string]map[string]element{}, affinity: map[string]int32{}, sets: map[string]setDef{}}
	for _, c := range containers {
		r.elements[c.name] = map[string]element{}
	}
	r.chains[servicesChain] = []string{
		"ip daddr . meta l4proto . th dport vmap @" + serviceIPsMap,
		"fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @" + serviceNodePortsMap,
	}
	r.chains[masqueradingChain] = []string{
		"meta mark & " + masqMark + " == 0 return",
		"meta mark set meta mark ^ " + masqMark,
		"masquerade fully-random",
	}
	r.chains[markMasqChain] = []string{"meta mark set meta mark | " + masqMark}
	r.chains[serviceEndpointsChk] = []string{"ip daddr . meta l4proto . th dport vmap @" + noEndpointServicesMap}
	r.chains[nodePortEndpointsChk] = []string{"fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @" + noEndpointNodePortsMap}
	r.chains[clusterIPsCheckChain] = []string{"ip daddr @" + clusterIPsSet + " reject"}
	r.chains[rejectChain] = []string{"reject"}
	return r
}

func (r *ruleset) add(container string, key []string, value ...string) {
	r.elements[container][strings.Join(key, " . ")] = element{key: key, value: value}
}

// input is what the table is made from.
type input struct {
	node        string
	clusterCIDR string // the pods' addresses; "" when unknown
	serviceCIDR string // the cluster IPs' range; "" when unknown
	services    []*corev1.Service
	slices      map[types.NamespacedName][]*discoveryv1.EndpointSlice
	// policies, when set, are the NetworkPolicies to enforce and what they select.
	policies *netpol.Input
}

// build computes the table's content.
func build(in *input) *ruleset {
	r := newRuleset()
	if in.serviceCIDR != "" {
		// Traffic to a cluster IP no Service has would leave the node for its
		// default route: it ends here, as upstream's.
		r.chains[clusterIPsCheckChain] = append(r.chains[clusterIPsCheckChain], "ip daddr "+in.serviceCIDR+" drop")
	}
	if in.policies != nil {
		r.addPolicies(netpol.Build(*in.policies))
	}
	for _, svc := range in.services {
		ip := svc.Spec.ClusterIP
		if svc.Spec.Type == corev1.ServiceTypeExternalName || ip == "" || ip == corev1.ClusterIPNone || strings.Contains(ip, ":") {
			continue
		}
		// Another proxy's Service, or one marked headless: not ours to serve, as
		// kube-proxy leaves them.
		if _, other := svc.Labels[proxyNameLabel]; other {
			continue
		}
		if _, headless := svc.Labels[corev1.IsHeadlessService]; headless {
			continue
		}
		slices := in.slices[types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}]
		for i := range svc.Spec.Ports {
			r.addServicePort(in, svc, &svc.Spec.Ports[i], slices)
		}
	}
	return r
}

// addPolicies adds the chains and sets of the NetworkPolicy rules.
func (r *ruleset) addPolicies(f *netpol.Fragment) {
	maps.Copy(r.chains, f.Chains)
	for _, s := range f.Sets {
		def := setDef{typ: s.Type}
		for _, fl := range s.Flags {
			def.flags = append(def.flags, knftables.SetFlag(fl))
		}
		r.sets[s.Name] = def
		r.elements[s.Name] = map[string]element{}
		for _, e := range s.Elements {
			r.add(s.Name, e)
		}
	}
}

// portChains names the chains of one Service port; the hash keeps names of long
// Services apart where nft would cut them.
type portChains struct {
	id, hash string
}

func (p portChains) name(prefix string) string { return prefix + "-" + p.hash + "-" + p.id }

func (p portChains) endpoint(prefix string, e endpoint) string {
	return p.name(prefix) + "__" + e.ip + "/" + strconv.Itoa(int(e.port))
}

func (r *ruleset) addServicePort(in *input, svc *corev1.Service, sp *corev1.ServicePort, slices []*discoveryv1.EndpointSlice) {
	proto := strings.ToLower(string(sp.Protocol))
	if proto == "" {
		proto = "tcp"
	}
	id := svc.Namespace + "/" + svc.Name + "/" + proto + "/" + sp.Name
	sum := sha256.Sum256([]byte(id))
	pc := portChains{id: id, hash: base32.StdEncoding.EncodeToString(sum[:])[:8]}
	port := strconv.Itoa(int(sp.Port))
	clusterIP := svc.Spec.ClusterIP
	r.add(clusterIPsSet, []string{clusterIP})

	var externalIPs []string // externalIPs and LoadBalancer ingress addresses
	for _, a := range svc.Spec.ExternalIPs {
		if !strings.Contains(a, ":") {
			externalIPs = append(externalIPs, a)
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" && !strings.Contains(ing.IP, ":") {
				externalIPs = append(externalIPs, ing.IP)
			}
		}
	}
	nodePort := ""
	if sp.NodePort != 0 && (svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer) {
		nodePort = strconv.Itoa(int(sp.NodePort))
	}
	external := nodePort != "" || len(externalIPs) > 0

	all := endpointsOf(slices, sp, in.node)
	cluster, local := usable(all), usable(localOnly(all))
	if len(cluster) == 0 {
		// No endpoint anywhere: every way in is rejected.
		r.add(noEndpointServicesMap, []string{clusterIP, proto, port}, "goto "+rejectChain)
		for _, a := range externalIPs {
			r.add(noEndpointServicesMap, []string{a, proto, port}, "goto "+rejectChain)
		}
		if nodePort != "" {
			r.add(noEndpointNodePortsMap, []string{proto, nodePort}, "goto "+rejectChain)
		}
		return
	}
	affinity := int32(0)
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = corev1.DefaultClientIPServiceAffinitySeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			affinity = *c.ClientIP.TimeoutSeconds
		}
	}
	clusterChain, localChain := pc.name("cluster"), pc.name("local")
	r.addPolicyChain(pc, clusterChain, cluster, proto, affinity)
	internalLocal := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	externalLocal := external && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	if len(local) > 0 && (internalLocal || externalLocal) {
		r.addPolicyChain(pc, localChain, local, proto, affinity)
	}

	// Traffic to the ClusterIP.
	switch {
	case internalLocal && len(local) == 0:
		r.add(noEndpointServicesMap, []string{clusterIP, proto, port}, "drop")
	default:
		target := clusterChain
		if internalLocal {
			target = localChain
		}
		svcChain := pc.name("service")
		var rules []string
		if in.clusterCIDR != "" {
			rules = append(rules, fmt.Sprintf("ip daddr %s %s dport %s ip saddr != %s jump %s", clusterIP, proto, port, in.clusterCIDR, markMasqChain))
		}
		r.chains[svcChain] = append(rules, "goto "+target)
		r.add(serviceIPsMap, []string{clusterIP, proto, port}, "goto "+svcChain)
	}
	if !external {
		return
	}

	// Traffic from outside: NodePorts, externalIPs, LoadBalancer ingress addresses.
	extChain := pc.name("external")
	var rules []string
	if externalLocal {
		// The node's own traffic and its pods' may use any endpoint; from outside,
		// only this node's, with the client's address kept.
		if in.clusterCIDR != "" {
			rules = append(rules, "ip saddr "+in.clusterCIDR+" goto "+clusterChain)
		}
		rules = append(rules, "fib saddr type local jump "+markMasqChain, "fib saddr type local goto "+clusterChain)
		if len(local) > 0 {
			rules = append(rules, "goto "+localChain)
		}
	} else {
		rules = append(rules, "jump "+markMasqChain, "goto "+clusterChain)
	}
	r.chains[extChain] = rules
	for _, a := range externalIPs {
		r.add(serviceIPsMap, []string{a, proto, port}, "goto "+extChain)
	}
	if nodePort != "" {
		r.add(serviceNodePortsMap, []string{proto, nodePort}, "goto "+extChain)
	}
	if externalLocal && len(local) == 0 {
		// What the external chain does not take from outside is dropped.
		for _, a := range externalIPs {
			r.add(noEndpointServicesMap, []string{a, proto, port}, "drop")
		}
		if nodePort != "" {
			r.add(noEndpointNodePortsMap, []string{proto, nodePort}, "drop")
		}
	}
}

// addPolicyChain adds chain, which picks one of eps (the client's earlier one under
// session affinity), and the endpoints' chains, which DNAT to them.
func (r *ruleset) addPolicyChain(pc portChains, chain string, eps []endpoint, proto string, affinity int32) {
	var rules, targets []string
	for _, e := range eps {
		epChain := pc.endpoint("endpoint", e)
		targets = append(targets, epChain)
		epRules := []string{"ip saddr " + e.ip + " jump " + markMasqChain} // a pod reaching itself
		if affinity > 0 {
			// The timeout is in the name: a set's timeout cannot change while rules
			// refer to it, and a new name rewrites them.
			set := pc.endpoint("affinity", e) + "-" + strconv.Itoa(int(affinity))
			r.affinity[set] = affinity
			rules = append(rules, "ip saddr @"+set+" goto "+epChain)
			epRules = append(epRules, "update @"+set+" { ip saddr }")
		}
		r.chains[epChain] = append(epRules, fmt.Sprintf("meta l4proto %s dnat to %s:%d", proto, e.ip, e.port))
	}
	if len(targets) == 1 {
		rules = append(rules, "goto "+targets[0])
	} else {
		var vm []string
		for i, t := range targets {
			vm = append(vm, fmt.Sprintf("%d : goto %s", i, t))
		}
		rules = append(rules, fmt.Sprintf("numgen random mod %d vmap { %s }", len(targets), strings.Join(vm, " , ")))
	}
	r.chains[chain] = rules
}
