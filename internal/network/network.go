package network

import (
	"context"
	"net"
)

// Pod names the pod a network attachment is for.
type Pod struct {
	ID        string // the sandbox ID, CNI's container ID
	Namespace string
	Name      string
	UID       string
}

// PortMapping is a hostPort: traffic to HostIP:HostPort goes to the pod's ContainerPort.
type PortMapping struct {
	HostPort      int32
	ContainerPort int32
	Protocol      string // "TCP", "UDP" or "SCTP"
	HostIP        string // "" for every address
}

// Result is what an attachment gave the pod.
type Result struct {
	IP      net.IP
	Gateway net.IP
}

// Network attaches pods' network namespaces to the node's pod network.
type Network interface {
	// Setup attaches the namespace at netnsPath (loopback up, an address from the pod
	// CIDR, a default route, hostPorts) and returns the pod's address.
	Setup(ctx context.Context, pod Pod, netnsPath string, ports []PortMapping) (Result, error)
	// Teardown undoes Setup: the address goes back to the pool and the hostPort rules
	// go. It is idempotent and works when the namespace is already gone.
	Teardown(ctx context.Context, pod Pod, netnsPath string, ports []PortMapping) error
}
