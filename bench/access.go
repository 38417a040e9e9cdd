package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/internal/satoken"
)

// AccessOptions size the access benchmark.
type AccessOptions struct {
	Roles      int // ClusterRoles made
	Bindings   int // bindings made, a fifth ClusterRoleBindings and the rest RoleBindings
	Namespaces int // namespaces the RoleBindings spread over
	Requests   int // GETs timed per client and phase
}

// Access measures what authorization and token authentication add to a request: GETs
// of one ConfigMap by a member of system:masters (which the authorizer admits at once)
// and by a user that a RoleBinding lets read, on an empty cluster and on one with
// opts.Roles ClusterRoles and opts.Bindings bindings; the same GET with a service
// account token against the admin token; and the token check itself, cached and not.
func Access(bin string, opts AccessOptions, out io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	dir, err := os.MkdirTemp("", "podium-bench-access-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := NewServer(bin, dir)
	if _, err := s.Start(); err != nil {
		return err
	}
	defer s.Stop()
	ctx := context.Background()
	admin := s.Client(true)
	files := pki.Files{Dir: dir}
	certClient := func(user string, groups ...string) (*kubernetes.Clientset, error) {
		cert, key, err := pki.IssueClient(files, user, groups, time.Hour)
		if err != nil {
			return nil, err
		}
		cfg := rest.AnonymousClientConfig(s.Rest())
		cfg.CertData, cfg.KeyData = cert, key
		cfg.QPS, cfg.Burst = -1, 1000
		return kubernetes.NewForConfig(cfg)
	}
	masters, err := certClient("bench-admin", "system:masters")
	if err != nil {
		return err
	}
	user, err := certClient("bench-user", "bench-readers")
	if err != nil {
		return err
	}
	const ns = "bench-0"
	for i := 0; i < opts.Namespaces; i++ {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if _, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "target"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "readers"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "bench-readers"}, {Kind: rbacv1.ServiceAccountKind, Name: "bench-sa"}}},
		metav1.CreateOptions{}); err != nil {
		return err
	}
	get := func(cs kubernetes.Interface) (time.Duration, error) {
		start := time.Now()
		_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "target", metav1.GetOptions{})
		return time.Since(start), err
	}
	// time alternates the clients' GETs, so that both see the same machine.
	time2 := func(a, b kubernetes.Interface) (ta, tb []time.Duration, err error) {
		for i := 0; i < opts.Requests; i++ {
			da, err := get(a)
			if err != nil {
				return nil, nil, err
			}
			db, err := get(b)
			if err != nil {
				return nil, nil, err
			}
			ta, tb = append(ta, da), append(tb, db)
		}
		return ta, tb, nil
	}
	report := func(phase string, m, u []time.Duration) {
		p("  %s: GET as a member of system:masters p50 %s p99 %s; as a user bound by a RoleBinding p50 %s p99 %s; added p50 %s p99 %s",
			phase, pct(m, 50), pct(m, 99), pct(u, 50), pct(u, 99),
			round(pctRaw(u, 50)-pctRaw(m, 50)), round(pctRaw(u, 99)-pctRaw(m, 99)))
	}
	m0, u0, err := time2(masters, user)
	if err != nil {
		return fmt.Errorf("empty cluster: %w", err)
	}
	p("authorization (%d GETs each, client certificates):", opts.Requests)
	report("no other roles", m0, u0)

	made := time.Now()
	if err := makeRBAC(ctx, admin, opts); err != nil {
		return err
	}
	p("  made %d ClusterRoles and %d bindings in %s", opts.Roles, opts.Bindings, round(time.Since(made)))
	m1, u1, err := time2(masters, user)
	if err != nil {
		return fmt.Errorf("loaded cluster: %w", err)
	}
	report(fmt.Sprintf("%d ClusterRoles, %d bindings", opts.Roles, opts.Bindings), m1, u1)

	// Service account tokens, end to end and alone.
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "bench-sa"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "bench-sa", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	saCfg := rest.AnonymousClientConfig(s.Rest())
	saCfg.BearerToken, saCfg.QPS, saCfg.Burst = tr.Status.Token, -1, 1000
	saClient, err := kubernetes.NewForConfig(saCfg)
	if err != nil {
		return err
	}
	tokenAdmin, err := kubernetes.NewForConfig(s.Rest())
	if err != nil {
		return err
	}
	ta, tsa, err := time2(tokenAdmin, saClient)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	p("token authentication (%d GETs each): admin token p50 %s p99 %s; service account token (and RBAC) p50 %s p99 %s",
		opts.Requests, pct(ta, 50), pct(ta, 99), pct(tsa, 50), pct(tsa, 99))
	uncached, cachedCheck, err := tokenCheck(10000)
	if err != nil {
		return err
	}
	p("  the check alone, in process: uncached (ES256 signature, claims, objects) %s; cached %s (x%.0f)",
		uncached, cachedCheck, float64(uncached)/float64(max(cachedCheck, 1)))
	return nil
}

// makeRBAC makes opts.Roles ClusterRoles and opts.Bindings bindings of other users, with
// 16 writers.
func makeRBAC(ctx context.Context, cs kubernetes.Interface, opts AccessOptions) error {
	work := make(chan func() error)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for f := range work {
				if err := f(); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := 0; i < opts.Roles; i++ {
		work <- func() error {
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-role-%d", i)},
				Rules: []rbacv1.PolicyRule{
					{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", fmt.Sprintf("thing%d", i)}},
					{Verbs: []string{"create"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{fmt.Sprintf("d%d", i)}},
				}}, metav1.CreateOptions{})
			return err
		}
	}
	clusterWide := opts.Bindings / 5
	for i := 0; i < opts.Bindings; i++ {
		role := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("bench-role-%d", i%max(opts.Roles, 1))}
		subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("user-%d", i)},
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("group-%d", i%100)}}
		if i < clusterWide {
			work <- func() error {
				_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)},
					RoleRef: role, Subjects: subjects}, metav1.CreateOptions{})
				return err
			}
			continue
		}
		work <- func() error {
			_, err := cs.RbacV1().RoleBindings(fmt.Sprintf("bench-%d", i%max(opts.Namespaces, 1))).Create(ctx,
				&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)}, RoleRef: role, Subjects: subjects}, metav1.CreateOptions{})
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// tokenCheck times satoken's check of one bound token, without and with its cache,
// per call.
func tokenCheck(n int) (uncached, cachedCheck time.Duration, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0, 0, err
	}
	const iss = "https://kubernetes.default.svc.cluster.local"
	keys, err := satoken.NewKeys(iss, key)
	if err != nil {
		return 0, 0, err
	}
	objs := benchObjects{sa: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: "ns", UID: "sa-uid"}},
		pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "pod-uid"}}}
	a := satoken.NewAuthenticator(keys, []string{iss}, objs)
	token, _, err := keys.Issue(satoken.Request{Namespace: "ns", Account: satoken.Ref{Name: "sa", UID: "sa-uid"},
		Audiences: []string{iss}, Expiration: time.Hour, Pod: &satoken.Ref{Name: "p", UID: "pod-uid"}})
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	for range n {
		if _, _, err := a.AuthenticateTokenUncached(token, nil); err != nil {
			return 0, 0, err
		}
	}
	uncached = time.Since(start) / time.Duration(n)
	start = time.Now()
	for range n {
		if _, _, err := a.AuthenticateToken(context.Background(), token, nil); err != nil {
			return 0, 0, err
		}
	}
	return uncached, time.Since(start) / time.Duration(n), nil
}

type benchObjects struct {
	sa  *corev1.ServiceAccount
	pod *corev1.Pod
}

func (o benchObjects) ServiceAccount(string, string) (*corev1.ServiceAccount, bool) {
	return o.sa, true
}
func (o benchObjects) Pod(string, string) (*corev1.Pod, bool)       { return o.pod, true }
func (o benchObjects) Secret(string, string) (*corev1.Secret, bool) { return nil, false }
func (o benchObjects) Node(string) (*corev1.Node, bool)             { return nil, false }
