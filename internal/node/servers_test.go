package node

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// TestServersFailOver: a dial goes to the current server while it answers, and to the
// next one that does when it does not; the learned list keeps the given server first.
func TestServersFailOver(t *testing.T) {
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there now: connections are refused

	s, err := newServers("https://"+deadAddr, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	s.set([]string{live.Addr().String(), deadAddr})
	if got := s.Addresses(); !slices.Equal(got, []string{deadAddr, live.Addr().String()}) {
		t.Fatalf("list %v", got)
	}
	conn, err := s.DialContext(context.Background(), "tcp", "ignored:1")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := s.Addresses(); got[0] != live.Addr().String() {
		t.Fatalf("after failing over, the current server is %v", got)
	}
	// A new list that still holds the current server keeps it current.
	s.set([]string{"192.0.2.1:6443", live.Addr().String()})
	if got := s.Addresses(); got[0] != live.Addr().String() || len(got) != 3 {
		t.Fatalf("after an update: %v", got)
	}
}

func TestSliceAddresses(t *testing.T) {
	es := &discoveryv1.EndpointSlice{
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](6443)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.0.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			{Addresses: []string{"10.0.0.3"}},
		},
	}
	if got := sliceAddresses(es); !slices.Equal(got, []string{"10.0.0.1:6443", "10.0.0.3:6443"}) {
		t.Fatalf("got %v", got)
	}
}
