package endpointslice

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func endpoints(addrs ...string) []discoveryv1.Endpoint {
	var list []discoveryv1.Endpoint
	for _, a := range addrs {
		list = append(list, discoveryv1.Endpoint{Addresses: []string{a}})
	}
	return list
}

func tcp(name string, port int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}
}

func slice(t discoveryv1.AddressType, eps []discoveryv1.Endpoint, ports ...discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abcde", Namespace: "default"},
		AddressType: t,
		Endpoints:   eps,
		Ports:       ports,
	}
}

func TestInfo(t *testing.T) {
	info := New().Info()
	want := "discovery.k8s.io/v1, Resource=endpointslices"
	if got := info.GroupVersionResource().String(); got != want || !info.Namespaced || info.Kind != "EndpointSlice" {
		t.Errorf("Info = %+v, want %s, namespaced", info, want)
	}
}

func TestDefault(t *testing.T) {
	eps := slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1"),
		discoveryv1.EndpointPort{Port: ptr.To[int32](80)},
		discoveryv1.EndpointPort{Name: ptr.To("dns"), Port: ptr.To[int32](53), Protocol: ptr.To(corev1.ProtocolUDP)},
	)
	New().Default(eps)
	want := []discoveryv1.EndpointPort{tcp("", 80), {Name: ptr.To("dns"), Port: ptr.To[int32](53), Protocol: ptr.To(corev1.ProtocolUDP)}}
	if !reflect.DeepEqual(eps.Ports, want) {
		t.Errorf("ports = %+v, want %+v", eps.Ports, want)
	}
	if c := eps.Endpoints[0].Conditions; c.Ready != nil || c.Serving != nil || c.Terminating != nil {
		t.Errorf("conditions = %+v, want all unset", c)
	}
}

func TestPrepareForCreate(t *testing.T) {
	eps := slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1"))
	eps.Generation = 7
	eps.Endpoints[0].DeprecatedTopology = map[string]string{corev1.LabelHostname: "node-1"}
	New().PrepareForCreate(eps)
	if eps.Generation != 1 {
		t.Errorf("generation = %d, want 1", eps.Generation)
	}
	if ep := eps.Endpoints[0]; ep.DeprecatedTopology != nil || ep.NodeName != nil {
		t.Errorf("endpoint = %+v, want no topology and no node name", ep)
	}
}

func TestPrepareForUpdate(t *testing.T) {
	tests := []struct {
		name           string
		change         func(*discoveryv1.EndpointSlice)
		wantGeneration int64
	}{
		{"nothing", func(*discoveryv1.EndpointSlice) {}, 3},
		{"annotations", func(e *discoveryv1.EndpointSlice) { e.Annotations = map[string]string{"a": "b"} }, 3},
		{"client sets a generation", func(e *discoveryv1.EndpointSlice) { e.Generation = 99 }, 3},
		{"protocol left to the default", func(e *discoveryv1.EndpointSlice) { e.Ports[0].Protocol = nil }, 3},
		{"labels", func(e *discoveryv1.EndpointSlice) { e.Labels = map[string]string{"x": "y"} }, 4},
		{"endpoints", func(e *discoveryv1.EndpointSlice) { e.Endpoints = endpoints("10.0.0.2") }, 4},
		{"condition", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Conditions.Ready = ptr.To(false) }, 4},
		{"ports", func(e *discoveryv1.EndpointSlice) { e.Ports[0].Port = ptr.To[int32](8080) }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1"), tcp("", 80))
			old.Generation = 3
			eps := old.DeepCopy()
			tt.change(eps)
			New().PrepareForUpdate(eps, old)
			if eps.Generation != tt.wantGeneration {
				t.Errorf("generation = %d, want %d", eps.Generation, tt.wantGeneration)
			}
		})
	}
}

func TestPrepareForUpdateTopology(t *testing.T) {
	old := slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1"))
	old.Endpoints[0].DeprecatedTopology = map[string]string{corev1.LabelHostname: "node-1"}

	unchanged := old.DeepCopy()
	New().PrepareForUpdate(unchanged, old)
	if unchanged.Endpoints[0].DeprecatedTopology == nil {
		t.Errorf("topology of unchanged endpoints was dropped")
	}

	eps := old.DeepCopy()
	eps.Endpoints = append(eps.Endpoints, discoveryv1.Endpoint{
		Addresses:          []string{"10.0.0.2"},
		DeprecatedTopology: map[string]string{corev1.LabelHostname: "node-2"},
	})
	New().PrepareForUpdate(eps, old)
	var got []string
	for _, ep := range eps.Endpoints {
		if ep.DeprecatedTopology != nil {
			t.Errorf("endpoint %v keeps topology %v", ep.Addresses, ep.DeprecatedTopology)
		}
		got = append(got, ptr.Deref(ep.NodeName, "<nil>"))
	}
	// Only a node the stored slice already named moves into nodeName.
	if want := []string{"node-1", "<nil>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("node names = %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		var list []string
		for i := range n {
			list = append(list, f(i))
		}
		return list
	}
	ipv4 := func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) }
	tests := []struct {
		name string
		eps  *discoveryv1.EndpointSlice
		want []string
	}{
		{name: "valid", eps: slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1"), tcp("http", 80), tcp("https", 443))},
		{name: "valid without endpoints or ports", eps: slice(discoveryv1.AddressTypeIPv6, nil)},
		{name: "valid ipv6", eps: slice(discoveryv1.AddressTypeIPv6, endpoints("fd00::1"))},
		{name: "valid fqdn", eps: slice(discoveryv1.AddressTypeFQDN, endpoints("db.example.com"))},
		{name: "valid unset port", eps: slice(discoveryv1.AddressTypeIPv4, nil, discoveryv1.EndpointPort{Name: ptr.To(""), Protocol: ptr.To(corev1.ProtocolTCP)})},
		{name: "address type missing", eps: slice("", nil), want: []string{"addressType"}},
		{name: "address type unknown", eps: slice("IP", endpoints("anything")), want: []string{"addressType"}},
		{name: "no addresses", eps: slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{}}), want: []string{"endpoints[0].addresses"}},
		{
			name: "too many addresses",
			eps:  slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{Addresses: many(101, ipv4)}}),
			want: []string{"endpoints[0].addresses"},
		},
		{name: "too many endpoints", eps: slice(discoveryv1.AddressTypeIPv4, endpoints(many(1001, ipv4)...)), want: []string{"endpoints"}},
		{name: "not an ip", eps: slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1", "web")), want: []string{"endpoints[1].addresses[0]"}},
		{name: "ipv6 in an ipv4 slice", eps: slice(discoveryv1.AddressTypeIPv4, endpoints("fd00::1")), want: []string{"endpoints[0].addresses"}},
		{name: "ipv4 in an ipv6 slice", eps: slice(discoveryv1.AddressTypeIPv6, endpoints("10.0.0.1")), want: []string{"endpoints[0].addresses"}},
		{name: "non-canonical ipv6", eps: slice(discoveryv1.AddressTypeIPv6, endpoints("FD00::1")), want: []string{"endpoints[0].addresses[0]"}},
		{name: "loopback", eps: slice(discoveryv1.AddressTypeIPv4, endpoints("127.0.0.1")), want: []string{"endpoints[0].addresses[0]"}},
		{name: "link-local", eps: slice(discoveryv1.AddressTypeIPv6, endpoints("fe80::1")), want: []string{"endpoints[0].addresses[0]"}},
		{name: "bad fqdn", eps: slice(discoveryv1.AddressTypeFQDN, endpoints("db")), want: []string{"endpoints[0].addresses[0]"}},
		{
			name: "bad hostname and node name",
			eps: slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{
				Addresses: []string{"10.0.0.1"}, Hostname: ptr.To("Web_1"), NodeName: ptr.To("Node_1"),
			}}),
			want: []string{"endpoints[0].nodeName", "endpoints[0].hostname"},
		},
		{
			name: "bad hints",
			eps: slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{
				Addresses: []string{"10.0.0.1"},
				Hints: &discoveryv1.EndpointHints{
					ForZones: []discoveryv1.ForZone{{Name: "a"}, {Name: "a"}, {Name: "not a zone"}},
					ForNodes: []discoveryv1.ForNode{{Name: "Node_1"}},
				},
			}}),
			want: []string{"endpoints[0].hints.forZones[1].name", "endpoints[0].hints.forZones[2].name", "endpoints[0].hints.forNodes[0].name"},
		},
		{
			name: "too many zone hints",
			eps: slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{
				Addresses: []string{"10.0.0.1"},
				Hints:     &discoveryv1.EndpointHints{ForZones: make([]discoveryv1.ForZone, 9), ForNodes: []discoveryv1.ForNode{{Name: "Node_1"}}},
			}}),
			want: []string{"endpoints[0].hints.forZones"},
		},
		{
			name: "port names",
			eps:  slice(discoveryv1.AddressTypeIPv4, nil, tcp("", 80), tcp("", 81), tcp("HTTP", 82), tcp("http", 83), tcp("http", 84)),
			want: []string{"ports[1].name", "ports[2].name", "ports[4].name"},
		},
		{
			name: "protocols",
			eps: slice(discoveryv1.AddressTypeIPv4, nil,
				discoveryv1.EndpointPort{Name: ptr.To("a")},
				discoveryv1.EndpointPort{Name: ptr.To("b"), Protocol: ptr.To[corev1.Protocol]("HTTP")},
			),
			want: []string{"ports[0].protocol", "ports[1].protocol"},
		},
		{
			name: "app protocol",
			eps:  slice(discoveryv1.AddressTypeIPv4, nil, discoveryv1.EndpointPort{Name: ptr.To(""), Protocol: ptr.To(corev1.ProtocolTCP), AppProtocol: ptr.To("kubernetes.io/h2c/x")}),
			want: []string{"ports[0].appProtocol"},
		},
		{
			name: "too many ports",
			eps: func() *discoveryv1.EndpointSlice {
				eps := slice(discoveryv1.AddressTypeIPv4, nil)
				for i := range 20001 {
					eps.Ports = append(eps.Ports, tcp(fmt.Sprintf("p%d", i), 80))
				}
				return eps
			}(),
			want: []string{"ports"},
		},
		{
			name: "address type, ports, then endpoints",
			eps:  slice("", endpoints(""), tcp("a", 1), tcp("a", 2)),
			want: []string{"addressType", "ports[1].name"},
		},
		{
			name: "ports before endpoints",
			eps:  slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{}}, tcp("a", 1), tcp("a", 2)),
			want: []string{"ports[1].name", "endpoints[0].addresses"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(New().Validate(tt.eps)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	eps := slice(discoveryv1.AddressTypeIPv4, []discoveryv1.Endpoint{{}, {Addresses: []string{"0.0.0.0"}}}, tcp("a", 1), tcp("a", 2))
	got := messagesOf(New().Validate(eps))
	want := []string{
		`ports[1].name: Duplicate value: "a"`,
		`endpoints[0].addresses: Required value: must contain at least 1 address`,
		`endpoints[1].addresses[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant:\n%q", got, want)
	}
	got = messagesOf(New().Validate(slice("IP", nil)))
	if want := []string{`addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"`}; !reflect.DeepEqual(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    *discoveryv1.EndpointSlice
		change func(*discoveryv1.EndpointSlice)
		want   []string
	}{
		{name: "unchanged", old: slice(discoveryv1.AddressTypeIPv4, endpoints("10.0.0.1")), change: func(*discoveryv1.EndpointSlice) {}},
		{
			name:   "address type",
			old:    slice(discoveryv1.AddressTypeIPv4, nil),
			change: func(e *discoveryv1.EndpointSlice) { e.AddressType = discoveryv1.AddressTypeIPv6 },
			want:   []string{"addressType"},
		},
		{
			name:   "stored invalid endpoints kept",
			old:    slice(discoveryv1.AddressTypeIPv4, endpoints("127.0.0.1")),
			change: func(e *discoveryv1.EndpointSlice) { e.Labels = map[string]string{"a": "b"} },
		},
		{
			name:   "stored invalid endpoints changed",
			old:    slice(discoveryv1.AddressTypeIPv4, endpoints("127.0.0.1")),
			change: func(e *discoveryv1.EndpointSlice) { e.Endpoints = endpoints("127.0.0.1", "10.0.0.2") },
			want:   []string{"endpoints[0].addresses[0]"},
		},
		{
			name:   "ports still checked",
			old:    slice(discoveryv1.AddressTypeIPv4, nil, tcp("a", 1)),
			change: func(e *discoveryv1.EndpointSlice) { e.Ports = append(e.Ports, tcp("a", 2)) },
			want:   []string{"ports[1].name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := tt.old.DeepCopy()
			tt.change(eps)
			if got := fieldsOf(New().ValidateUpdate(eps, tt.old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	want := fields.Set{"metadata.name": "web-abcde", "metadata.namespace": "default"}
	if got := New().Fields(slice(discoveryv1.AddressTypeIPv4, nil)); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestRow(t *testing.T) {
	tests := []struct {
		name          string
		eps           []discoveryv1.Endpoint
		ports         []discoveryv1.EndpointPort
		wantPorts     string
		wantEndpoints string
	}{
		{name: "empty", wantPorts: "<unset>", wantEndpoints: "<unset>"},
		{
			name:          "some",
			eps:           endpoints("10.0.0.1", "10.0.0.2"),
			ports:         []discoveryv1.EndpointPort{tcp("http", 80), tcp("https", 443)},
			wantPorts:     "80,443",
			wantEndpoints: "10.0.0.1,10.0.0.2",
		},
		{
			name: "more",
			eps: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.1", "10.0.0.2"}},
				{Addresses: []string{"10.0.0.3", "10.0.0.4"}},
				{Addresses: []string{"10.0.0.5"}},
			},
			ports:         []discoveryv1.EndpointPort{tcp("a", 1), tcp("b", 2), tcp("c", 3), tcp("d", 4)},
			wantPorts:     "1,2,3 + 1 more...",
			wantEndpoints: "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...",
		},
		{
			name:          "exactly three",
			eps:           endpoints("10.0.0.1", "10.0.0.2", "10.0.0.3"),
			ports:         []discoveryv1.EndpointPort{tcp("a", 1), tcp("b", 2), tcp("c", 3)},
			wantPorts:     "1,2,3",
			wantEndpoints: "10.0.0.1,10.0.0.2,10.0.0.3",
		},
		{
			name:          "unset port number",
			ports:         []discoveryv1.EndpointPort{{Name: ptr.To(""), Protocol: ptr.To(corev1.ProtocolTCP)}},
			wantPorts:     "<unset>",
			wantEndpoints: "<unset>",
		},
		{
			name:          "port known by name or not at all",
			ports:         []discoveryv1.EndpointPort{{Name: ptr.To("http")}, {}, tcp("", 53)},
			wantPorts:     "http,*,53",
			wantEndpoints: "<unset>",
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := slice(discoveryv1.AddressTypeIPv4, tt.eps, tt.ports...)
			eps.CreationTimestamp = metav1.NewTime(now.Add(-time.Minute))
			want := []interface{}{"web-abcde", "IPv4", tt.wantPorts, tt.wantEndpoints, "60s"}
			if got := s.Row(eps, now); !reflect.DeepEqual(got, want) {
				t.Errorf("Row = %q, want %q", got, want)
			}
		})
	}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "AddressType", "Ports", "Endpoints", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
}

// fieldsOf returns the field path of every error, in order.
func fieldsOf(errs field.ErrorList) []string {
	var paths []string
	for _, err := range errs {
		paths = append(paths, err.Field)
	}
	return paths
}

// messagesOf returns every error as the API reports it, in order.
func messagesOf(errs field.ErrorList) []string {
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	return msgs
}
