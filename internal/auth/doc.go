// Package auth provides who a request comes from and what it may do: bearer-token and
// client-certificate authentication, the anonymous user of requests without credentials,
// and the authorizers: the node authorizer, which keeps a node to its own Node and Lease,
// the pods bound to it and the secrets and configmaps those name, and the RBAC
// authorizer (roles and bindings, with upstream's rule semantics), chained so that the
// first that allows decides.
package auth
