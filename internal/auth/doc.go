// Package auth provides who a request comes from and what it may do: bearer-token
// authentication for the admin and for nodes, the anonymous user of requests without
// credentials, and the authorizers: the node authorizer that keeps a node to its own
// Node, Lease, pods and events, and the RBAC authorizer (roles and bindings, with
// upstream's rule semantics), chained so that the first that allows decides. Escalation
// is the admission of RBAC writes that keeps a user from granting what it does not hold.
package auth
