package rbacpolicy

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	if err := Reconcile(ctx, cs); err != nil {
		t.Fatal(err)
	}
	roles, _ := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	bindings, _ := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if len(roles.Items) != len(ClusterRoles()) || len(bindings.Items) != len(ClusterRoleBindings()) {
		t.Fatalf("%d roles and %d bindings made", len(roles.Items), len(bindings.Items))
	}
	reader, err := cs.RbacV1().Roles("kube-system").Get(ctx, "extension-apiserver-authentication-reader", metav1.GetOptions{})
	if err != nil || reader.Rules[0].ResourceNames[0] != ExtensionAuthentication {
		t.Fatalf("the reader of the extension authentication: %v %v", reader, err)
	}

	// A default that lost a rule gets it back; one an admin marked stays as it is.
	basic, _ := cs.RbacV1().ClusterRoles().Get(ctx, "system:basic-user", metav1.GetOptions{})
	basic.Rules = basic.Rules[:1]
	if _, err := cs.RbacV1().ClusterRoles().Update(ctx, basic, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	disc, _ := cs.RbacV1().ClusterRoles().Get(ctx, "system:discovery", metav1.GetOptions{})
	disc.Annotations[autoUpdateAnnote] = "false"
	disc.Rules = nil
	if _, err := cs.RbacV1().ClusterRoles().Update(ctx, disc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	admins, _ := cs.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-admin", metav1.GetOptions{})
	admins.Subjects = nil
	if _, err := cs.RbacV1().ClusterRoleBindings().Update(ctx, admins, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Reconcile(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if basic, _ = cs.RbacV1().ClusterRoles().Get(ctx, "system:basic-user", metav1.GetOptions{}); len(basic.Rules) != 2 {
		t.Errorf("system:basic-user rules: %+v", basic.Rules)
	}
	if disc, _ = cs.RbacV1().ClusterRoles().Get(ctx, "system:discovery", metav1.GetOptions{}); len(disc.Rules) != 0 {
		t.Errorf("system:discovery, marked autoupdate false, changed: %+v", disc.Rules)
	}
	if admins, _ = cs.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-admin", metav1.GetOptions{}); len(admins.Subjects) != 1 || admins.Subjects[0].Name != "system:masters" {
		t.Errorf("cluster-admin subjects: %+v", admins.Subjects)
	}
}
