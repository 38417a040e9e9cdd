// Package rbac provides the strategies for rbac.authorization.k8s.io/v1 Roles and
// RoleBindings (namespaced) and ClusterRoles and ClusterRoleBindings (cluster-scoped):
// path-segment names, upstream's defaults (the RBAC group on roleRefs and on User and
// Group subjects), the rules, aggregation rules, roleRefs and subjects checked as
// upstream checks them, a roleRef that may not change, and the Table columns kubectl
// shows. They have no status, and the server never bumps their generation.
//
// Upstream's escalation checks (creating a role that grants more than the writer holds,
// or binding a role without the bind verb) wrap its storage rather than its strategies,
// and are not part of this package.
package rbac
