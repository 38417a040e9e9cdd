// Package auth provides who a request comes from and what it may do: bearer-token
// authentication for the admin and for nodes, and the node authorizer that keeps a node
// to its own Node, Lease, pods and events.
package auth
