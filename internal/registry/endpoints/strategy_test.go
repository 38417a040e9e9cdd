package endpoints

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func addrs(ips ...string) []corev1.EndpointAddress {
	var list []corev1.EndpointAddress
	for _, ip := range ips {
		list = append(list, corev1.EndpointAddress{IP: ip})
	}
	return list
}

func TestDefault(t *testing.T) {
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}}
	New().Default(ep)
	got := []corev1.Protocol{ep.Subsets[0].Ports[0].Protocol, ep.Subsets[0].Ports[1].Protocol}
	if want := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}; !reflect.DeepEqual(got, want) {
		t.Errorf("protocols = %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    []string
	}{
		{name: "valid", subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 80, Protocol: "TCP"}}}}},
		{name: "no addresses", subsets: []corev1.EndpointSubset{{}}, want: []string{"subsets[0]"}},
		{name: "loopback", subsets: []corev1.EndpointSubset{{Addresses: addrs("127.0.0.1")}}, want: []string{"subsets[0].addresses[0].ip"}},
		{name: "not an ip", subsets: []corev1.EndpointSubset{{NotReadyAddresses: addrs("x")}}, want: []string{"subsets[0].notReadyAddresses[0].ip"}},
		{
			name: "unnamed ports",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: []corev1.EndpointPort{
				{Port: 80, Protocol: "TCP"}, {Port: 0, Protocol: "TCP"},
			}}},
			want: []string{"subsets[0].ports[0].name", "subsets[0].ports[1].name", "subsets[0].ports[1].port"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &corev1.Endpoints{Subsets: tt.subsets}
			if got := fieldsOf(New().Validate(ep)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRow(t *testing.T) {
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    string
	}{
		{name: "none", want: "<none>"},
		{
			name:    "two",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: []corev1.EndpointPort{{Port: 80}}}},
			want:    "10.0.0.1:80,10.0.0.2:80",
		},
		{
			name: "more",
			subsets: []corev1.EndpointSubset{
				{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}},
				{Addresses: addrs("fd00::1"), Ports: []corev1.EndpointPort{{Port: 80}}},
			},
			want: "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...",
		},
		{name: "headless without ports", subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1")}}, want: "10.0.0.1"},
		{name: "only not ready", subsets: []corev1.EndpointSubset{{NotReadyAddresses: addrs("10.0.0.1")}}, want: ""},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))}, Subsets: tt.subsets}
			want := []interface{}{"web", tt.want, "60s"}
			if got := s.Row(ep, now); !reflect.DeepEqual(got, want) {
				t.Errorf("Row = %q, want %q", got, want)
			}
		})
	}
	if len(s.Columns()) != 3 {
		t.Errorf("%d columns, want 3", len(s.Columns()))
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
