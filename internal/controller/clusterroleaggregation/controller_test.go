package clusterroleaggregation

import (
	"context"
	"log/slog"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestAggregation: an aggregated ClusterRole gathers the rules of the roles its
// selectors match, and follows a new matching role.
func TestAggregation(t *testing.T) {
	label := map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}
	podsRule := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	cs := fake.NewClientset(
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view"}, AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: label}}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "a-pods", Labels: label}, Rules: []rbacv1.PolicyRule{podsRule}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}},
	)
	factory := informers.NewSharedInformerFactory(cs, 0)
	c, err := New(cs, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	go c.Run(ctx)
	rulesOfView := func(n int) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			v, err := cs.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			return err == nil && len(v.Rules) == n, nil
		})
		if err != nil {
			v, _ := cs.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			t.Fatalf("view's rules: %+v, want %d", v.Rules, n)
		}
	}
	rulesOfView(1)
	secrets := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "b-secrets", Labels: label},
		Rules: []rbacv1.PolicyRule{secrets, podsRule}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rulesOfView(2) // pods once, and secrets
}
