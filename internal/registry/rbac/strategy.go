package rbac

import (
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy = (*roles)(nil)
	_ registry.Strategy = (*clusterRoles)(nil)
	_ registry.Strategy = (*roleBindings)(nil)
	_ registry.Strategy = (*clusterRoleBindings)(nil)
)

// NewRoles returns the Role strategy.
func NewRoles() registry.Strategy { return &roles{} }

// NewClusterRoles returns the ClusterRole strategy.
func NewClusterRoles() registry.Strategy { return &clusterRoles{} }

// NewRoleBindings returns the RoleBinding strategy.
func NewRoleBindings() registry.Strategy { return &roleBindings{} }

// NewClusterRoleBindings returns the ClusterRoleBinding strategy.
func NewClusterRoleBindings() registry.Strategy { return &clusterRoleBindings{} }

// common holds what the four strategies share: upstream leaves every field to the client
// (it neither resets nor carries over anything, and sets no generation), and none of
// the kinds has a status subresource.
type common struct{}

// ValidateName accepts any name that can be a URL path segment, as upstream does for
// RBAC objects; a generateName is held to the same rule.
func (common) ValidateName(name string, prefix bool) []string { return validateName(name) }

func (common) PrepareForCreate(obj runtime.Object)                          {}
func (common) PrepareForUpdate(obj, old runtime.Object)                     {}
func (common) PrepareForStatusUpdate(obj, old runtime.Object)               {}
func (common) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func info(kind, resource string, namespaced bool) registry.Info {
	return registry.Info{
		Group:      rbacv1.GroupName,
		Version:    "v1",
		Kind:       kind,
		ListKind:   kind + "List",
		Resource:   resource,
		Singular:   strings.ToLower(kind),
		Namespaced: namespaced,
	}
}

// roleColumns are upstream's default Table columns, which roles and cluster roles get
// for want of a printer of their own.
func roleColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}

// createdAt renders a creation time as upstream's default Table does: RFC 3339 in UTC.
func createdAt(t metav1.Time) string { return t.UTC().Format(time.RFC3339) }

// bindingColumns are kubectl's columns for role and cluster role bindings: the bound
// role and the age, and with -o wide the subjects by kind. kind names the resource in
// the subject columns' descriptions ("roleBinding", "clusterRoleBinding").
func bindingColumns(roleRefDoc, kind string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Role", Type: "string", Description: roleRefDoc},
		registry.AgeColumn(),
		{Name: "Users", Type: "string", Priority: 1, Description: "Users in the " + kind},
		{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the " + kind},
		{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the " + kind},
	}
}

// bindingRow returns a binding's cells: the role as kind/name, and the subjects joined
// by ", ": users and groups by name, service accounts as namespace/name. Subjects of
// other kinds are not shown.
func bindingRow(m *metav1.ObjectMeta, ref rbacv1.RoleRef, subjects []rbacv1.Subject, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		}
	}
	return []interface{}{
		m.Name,
		ref.Kind + "/" + ref.Name,
		registry.Since(m.CreationTimestamp.Time, now),
		strings.Join(users, ", "),
		strings.Join(groups, ", "),
		strings.Join(sas, ", "),
	}
}

// setBindingDefaults fills roleRef.apiGroup with the RBAC group when empty, and a
// subject's empty apiGroup with the RBAC group for users and groups (service accounts
// keep the core group, "").
func setBindingDefaults(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
			s.APIGroup = rbacv1.GroupName
		}
	}
}

// roles is the Role strategy.
type roles struct{ common }

func (*roles) Info() registry.Info        { return info("Role", "roles", true) }
func (*roles) New() runtime.Object        { return &rbacv1.Role{} }
func (*roles) NewList() runtime.Object    { return &rbacv1.RoleList{} }
func (*roles) Default(obj runtime.Object) {}
func (*roles) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, true)
}

// Validate checks every rule; a Role's rules may not name non-resource URLs.
func (*roles) Validate(obj runtime.Object) field.ErrorList {
	return validateRole(obj.(*rbacv1.Role), nil)
}

func (*roles) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateRole(obj.(*rbacv1.Role), old.(*rbacv1.Role))
}

func (*roles) Columns() []metav1.TableColumnDefinition { return roleColumns() }

func (*roles) Row(obj runtime.Object, now time.Time) []interface{} {
	r := obj.(*rbacv1.Role)
	return []interface{}{r.Name, createdAt(r.CreationTimestamp)}
}

// clusterRoles is the ClusterRole strategy.
type clusterRoles struct{ common }

func (*clusterRoles) Info() registry.Info        { return info("ClusterRole", "clusterroles", false) }
func (*clusterRoles) New() runtime.Object        { return &rbacv1.ClusterRole{} }
func (*clusterRoles) NewList() runtime.Object    { return &rbacv1.ClusterRoleList{} }
func (*clusterRoles) Default(obj runtime.Object) {}
func (*clusterRoles) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}

// Validate checks every rule and the aggregation rule.
func (*clusterRoles) Validate(obj runtime.Object) field.ErrorList {
	return validateClusterRole(obj.(*rbacv1.ClusterRole), nil)
}

// ValidateUpdate checks as Validate does, except that invalid label values in the
// aggregation rule's selectors pass the label checks when the stored role has one.
func (*clusterRoles) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateClusterRole(obj.(*rbacv1.ClusterRole), old.(*rbacv1.ClusterRole))
}

func (*clusterRoles) Columns() []metav1.TableColumnDefinition { return roleColumns() }

func (*clusterRoles) Row(obj runtime.Object, now time.Time) []interface{} {
	r := obj.(*rbacv1.ClusterRole)
	return []interface{}{r.Name, createdAt(r.CreationTimestamp)}
}

// roleBindings is the RoleBinding strategy.
type roleBindings struct{ common }

func (*roleBindings) Info() registry.Info     { return info("RoleBinding", "rolebindings", true) }
func (*roleBindings) New() runtime.Object     { return &rbacv1.RoleBinding{} }
func (*roleBindings) NewList() runtime.Object { return &rbacv1.RoleBindingList{} }
func (*roleBindings) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, true)
}

// Default fills the RBAC group into roleRef and into User and Group subjects.
func (*roleBindings) Default(obj runtime.Object) {
	b := obj.(*rbacv1.RoleBinding)
	setBindingDefaults(&b.RoleRef, b.Subjects)
}

// Validate checks the roleRef (a Role or a ClusterRole) and the subjects.
func (*roleBindings) Validate(obj runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.RoleBinding)
	return validateBinding(binding{b.RoleRef, b.Subjects}, nil, true)
}

// ValidateUpdate checks as Validate does, and that the roleRef did not change.
func (*roleBindings) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	b, o := obj.(*rbacv1.RoleBinding), old.(*rbacv1.RoleBinding)
	return validateBinding(binding{b.RoleRef, b.Subjects}, &binding{o.RoleRef, o.Subjects}, true)
}

func (*roleBindings) Columns() []metav1.TableColumnDefinition {
	return bindingColumns(rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"], "roleBinding")
}

func (*roleBindings) Row(obj runtime.Object, now time.Time) []interface{} {
	b := obj.(*rbacv1.RoleBinding)
	return bindingRow(&b.ObjectMeta, b.RoleRef, b.Subjects, now)
}

// clusterRoleBindings is the ClusterRoleBinding strategy.
type clusterRoleBindings struct{ common }

func (*clusterRoleBindings) Info() registry.Info {
	return info("ClusterRoleBinding", "clusterrolebindings", false)
}
func (*clusterRoleBindings) New() runtime.Object     { return &rbacv1.ClusterRoleBinding{} }
func (*clusterRoleBindings) NewList() runtime.Object { return &rbacv1.ClusterRoleBindingList{} }
func (*clusterRoleBindings) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}

// Default fills the RBAC group into roleRef and into User and Group subjects.
func (*clusterRoleBindings) Default(obj runtime.Object) {
	b := obj.(*rbacv1.ClusterRoleBinding)
	setBindingDefaults(&b.RoleRef, b.Subjects)
}

// Validate checks the roleRef (a ClusterRole) and the subjects, service accounts with
// their namespace.
func (*clusterRoleBindings) Validate(obj runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.ClusterRoleBinding)
	return validateBinding(binding{b.RoleRef, b.Subjects}, nil, false)
}

// ValidateUpdate checks as Validate does, and that the roleRef did not change.
func (*clusterRoleBindings) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	b, o := obj.(*rbacv1.ClusterRoleBinding), old.(*rbacv1.ClusterRoleBinding)
	return validateBinding(binding{b.RoleRef, b.Subjects}, &binding{o.RoleRef, o.Subjects}, false)
}

func (*clusterRoleBindings) Columns() []metav1.TableColumnDefinition {
	return bindingColumns(rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"], "clusterRoleBinding")
}

func (*clusterRoleBindings) Row(obj runtime.Object, now time.Time) []interface{} {
	b := obj.(*rbacv1.ClusterRoleBinding)
	return bindingRow(&b.ObjectMeta, b.RoleRef, b.Subjects, now)
}
