// Package rbacpolicy provides the cluster's default RBAC policy, upstream's bootstrap
// roles and bindings under upstream's names (cluster-admin for system:masters; discovery,
// basic-user and public-info-viewer for everyone; admin, edit and view aggregated from
// system:aggregate-to-*), and Reconcile, which the server runs at start: missing objects
// are created, and those still marked for auto-update get back what they lack.
package rbacpolicy
