package clusterroleaggregation

import (
	"context"
	"log/slog"
	"slices"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Controller keeps aggregated ClusterRoles' rules.
type Controller struct {
	client kubernetes.Interface
	roles  rbaclisters.ClusterRoleLister
	synced cache.InformerSynced
	loop   *reconcile.Loop
}

// New returns the controller on factory's ClusterRole informer, which the caller starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	inf := factory.Rbac().V1().ClusterRoles()
	c := &Controller{client: client, roles: inf.Lister(), synced: inf.Informer().HasSynced}
	c.loop = reconcile.New("clusterrole-aggregation", c.sync, log)
	// Any change of any ClusterRole may change what an aggregated one gathers: each of
	// those is looked at again.
	if _, err := inf.Informer().AddEventHandler(c.loop.Handler(func(any) string {
		all, _ := c.roles.List(labels.Everything())
		for _, cr := range all {
			if cr.AggregationRule != nil {
				c.loop.Add(cr.Name)
			}
		}
		return ""
	})); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	cr, err := c.roles.Get(name)
	if apierrors.IsNotFound(err) || (err == nil && cr.AggregationRule == nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rules, err := c.gather(cr)
	if err != nil {
		return 0, err
	}
	if equality.Semantic.DeepEqual(cr.Rules, rules) {
		return 0, nil
	}
	next := cr.DeepCopy()
	next.Rules = rules
	_, err = c.client.RbacV1().ClusterRoles().Update(ctx, next, metav1.UpdateOptions{})
	return 0, err
}

// gather returns the rules of the other ClusterRoles cr's selectors match, in the order
// of their names, each rule once.
func (c *Controller) gather(cr *rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	seen := map[string]bool{}
	var matched []*rbacv1.ClusterRole
	for _, ls := range cr.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err != nil {
			return nil, err
		}
		roles, err := c.roles.List(sel)
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			if r.Name != cr.Name && !seen[r.Name] {
				seen[r.Name] = true
				matched = append(matched, r)
			}
		}
	}
	slices.SortFunc(matched, func(a, b *rbacv1.ClusterRole) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	var rules []rbacv1.PolicyRule
	for _, r := range matched {
		for _, rule := range r.Rules {
			if !slices.ContainsFunc(rules, func(x rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(x, rule) }) {
				rules = append(rules, rule)
			}
		}
	}
	if rules == nil {
		rules = []rbacv1.PolicyRule{}
	}
	return rules, nil
}
