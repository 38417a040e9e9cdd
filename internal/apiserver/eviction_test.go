package apiserver

import (
	"encoding/json"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/poddisruptionbudget"
)

// evictionFixture is a test server serving pods and PodDisruptionBudgets in namespace ns.
type evictionFixture struct {
	*testServer
	t *testing.T
}

func newEvictionFixture(t *testing.T) *evictionFixture {
	ts := newTestServerWith(t, func(c *Config) { c.Strategies = append(c.Strategies, registry.Strategy(poddisruptionbudget.New())) }, nil)
	ts.createNamespace(t, "ns")
	return &evictionFixture{testServer: ts, t: t}
}

func (f *evictionFixture) send(want int, method, path string, body any) response {
	f.t.Helper()
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			f.t.Fatal(err)
		}
	}
	return f.mustDo(f.t, want, request{method: method, path: path, contentType: mediaJSON, body: data})
}

// pod creates a pod bound to a node, in phase with the Ready condition ready.
func (f *evictionFixture) pod(name string, labels map[string]string, phase corev1.PodPhase, ready bool) *corev1.Pod {
	f.t.Helper()
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	f.send(http.StatusCreated, http.MethodPost, "/api/v1/namespaces/ns/pods", p)
	cur := f.getPod(name)
	readiness := corev1.ConditionFalse
	if ready {
		readiness = corev1.ConditionTrue
	}
	cur.Status.Phase = phase
	cur.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: readiness}}
	f.send(http.StatusOK, http.MethodPut, "/api/v1/namespaces/ns/pods/"+name+"/status", cur)
	return f.getPod(name)
}

func (f *evictionFixture) getPod(name string) *corev1.Pod {
	f.t.Helper()
	p := &corev1.Pod{}
	decodeJSON(f.t, f.send(http.StatusOK, http.MethodGet, "/api/v1/namespaces/ns/pods/"+name, nil), p)
	return p
}

// budget creates a PodDisruptionBudget over app=app and sets its status as the
// controller would: observed, with allowed disruptions.
func (f *evictionFixture) budget(name, app string, allowed int32, mut func(*policyv1.PodDisruptionBudget)) *policyv1.PodDisruptionBudget {
	f.t.Helper()
	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	if mut != nil {
		mut(pdb)
	}
	f.send(http.StatusCreated, http.MethodPost, "/apis/policy/v1/namespaces/ns/poddisruptionbudgets", pdb)
	cur := f.getBudget(name)
	cur.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: cur.Generation, DisruptionsAllowed: allowed,
		CurrentHealthy: 1 + allowed, DesiredHealthy: 1, ExpectedPods: 1 + allowed}
	f.send(http.StatusOK, http.MethodPut, "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/"+name+"/status", cur)
	return f.getBudget(name)
}

func (f *evictionFixture) getBudget(name string) *policyv1.PodDisruptionBudget {
	f.t.Helper()
	pdb := &policyv1.PodDisruptionBudget{}
	decodeJSON(f.t, f.send(http.StatusOK, http.MethodGet, "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/"+name, nil), pdb)
	return pdb
}

// evict posts an eviction of pod and returns the answer, which must have status want.
func (f *evictionFixture) evict(want int, pod, query string, opts *metav1.DeleteOptions) *metav1.Status {
	f.t.Helper()
	ev := &policyv1.Eviction{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "Eviction"},
		ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "ns"}, DeleteOptions: opts}
	st := &metav1.Status{}
	decodeJSON(f.t, f.send(want, http.MethodPost, "/api/v1/namespaces/ns/pods/"+pod+"/eviction"+query, ev), st)
	return st
}

func hasDisruptionTarget(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == "EvictionByEvictionAPI" {
			return true
		}
	}
	return false
}

// TestEviction: a budget with no disruptions left refuses an eviction with 429 and a
// DisruptionBudget cause; one with a disruption left gives it up (disruptionsAllowed
// decremented, the pod in disruptedPods) and the pod is marked DisruptionTarget and
// deleted; a dry run changes nothing; a pod under two budgets is a 500; a budget the
// controller has not observed is a 429; pending pods ignore budgets and unready pods
// follow the unhealthyPodEvictionPolicy.
func TestEviction(t *testing.T) {
	f := newEvictionFixture(t)

	f.pod("web-0", map[string]string{"app": "web"}, corev1.PodRunning, true)
	f.budget("web", "web", 0, nil)
	st := f.evict(http.StatusTooManyRequests, "web-0", "", nil)
	if st.Reason != metav1.StatusReasonTooManyRequests || st.Message != "Cannot evict pod as it would violate the pod's disruption budget." ||
		st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != policyv1.DisruptionBudgetCause ||
		st.Details.Causes[0].Message != "The disruption budget web needs 1 healthy pods and has 1 currently" {
		t.Fatalf("exhausted budget: %+v", st)
	}
	if p := f.getPod("web-0"); p.DeletionTimestamp != nil || hasDisruptionTarget(p) {
		t.Fatalf("a refused eviction touched the pod: %+v", p)
	}

	// allowed
	{
		f.pod("api-0", map[string]string{"app": "api"}, corev1.PodRunning, true)
		f.budget("api", "api", 1, nil)

		f.evict(http.StatusCreated, "api-0", "?dryRun=All", nil)
		f.evict(http.StatusCreated, "api-0", "", &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		if p := f.getPod("api-0"); p.DeletionTimestamp != nil || hasDisruptionTarget(p) {
			t.Fatalf("a dry run touched the pod: %+v", p.Status.Conditions)
		}
		if pdb := f.getBudget("api"); pdb.Status.DisruptionsAllowed != 1 || len(pdb.Status.DisruptedPods) != 0 {
			t.Fatalf("a dry run touched the budget: %+v", pdb.Status)
		}

		st := f.evict(http.StatusCreated, "api-0", "", nil)
		if st.Status != metav1.StatusSuccess {
			t.Fatalf("eviction: %+v", st)
		}
		pdb := f.getBudget("api")
		if _, ok := pdb.Status.DisruptedPods["api-0"]; pdb.Status.DisruptionsAllowed != 0 || !ok {
			t.Fatalf("budget after the eviction: %+v", pdb.Status)
		}
		if c := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition); c == nil ||
			c.Status != metav1.ConditionFalse || c.Reason != policyv1.InsufficientPodsReason {
			t.Fatalf("DisruptionAllowed after the last disruption: %+v", c)
		}
		p := f.getPod("api-0")
		if p.DeletionTimestamp == nil || !hasDisruptionTarget(p) {
			t.Fatalf("evicted pod: deletionTimestamp %v, conditions %+v", p.DeletionTimestamp, p.Status.Conditions)
		}
		// Being deleted, it goes again without a look at the budget.
		f.evict(http.StatusCreated, "api-0", "", &metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		f.send(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/ns/pods/api-0", nil)
	}

	// two budgets
	{
		f.pod("db-0", map[string]string{"app": "db"}, corev1.PodRunning, true)
		f.budget("db-a", "db", 1, nil)
		f.budget("db-b", "db", 1, nil)
		st := f.evict(http.StatusInternalServerError, "db-0", "", nil)
		if st.Message != "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." {
			t.Fatalf("two budgets: %+v", st)
		}
		if pdb := f.getBudget("db-a"); pdb.Status.DisruptionsAllowed != 1 {
			t.Fatalf("two budgets: the budget changed: %+v", pdb.Status)
		}
	}

	// not observed
	{
		f.pod("q-0", map[string]string{"app": "q"}, corev1.PodRunning, true)
		f.budget("q", "q", 1, nil)
		pdb := f.getBudget("q")
		two := intstr.FromInt32(2)
		pdb.Spec.MinAvailable = &two
		f.send(http.StatusOK, http.MethodPut, "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/q", pdb)
		st := f.evict(http.StatusTooManyRequests, "q-0", "", nil)
		if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Message != "The disruption budget q is still being processed by the server." {
			t.Fatalf("unobserved budget: %+v", st)
		}
	}

	// pending
	{
		f.pod("web-1", map[string]string{"app": "web"}, corev1.PodPending, false)
		f.evict(http.StatusCreated, "web-1", "", nil)
		if p := f.getPod("web-1"); p.DeletionTimestamp == nil {
			t.Fatal("a pending pod was not evicted")
		}
	}

	// unready
	{
		f.pod("web-2", map[string]string{"app": "web"}, corev1.PodRunning, false)
		// IfHealthyBudget: "web" has 1 healthy of 1 desired, so the unready pod may go.
		f.evict(http.StatusCreated, "web-2", "", nil)
		if p := f.getPod("web-2"); p.DeletionTimestamp == nil {
			t.Fatal("an unready pod under a healthy budget was not evicted")
		}

		f.pod("job-0", map[string]string{"app": "job"}, corev1.PodRunning, false)
		pdb := f.budget("job", "job", 0, nil)
		pdb.Status.CurrentHealthy = 0
		f.send(http.StatusOK, http.MethodPut, "/apis/policy/v1/namespaces/ns/poddisruptionbudgets/job/status", pdb)
		f.evict(http.StatusTooManyRequests, "job-0", "", nil)

		f.pod("batch-0", map[string]string{"app": "batch"}, corev1.PodRunning, false)
		always := policyv1.AlwaysAllow
		f.budget("batch", "batch", 0, func(p *policyv1.PodDisruptionBudget) { p.Spec.UnhealthyPodEvictionPolicy = &always })
		f.evict(http.StatusCreated, "batch-0", "", nil)
		if p := f.getPod("batch-0"); p.DeletionTimestamp == nil || !hasDisruptionTarget(p) {
			t.Fatal("an unready pod under AlwaysAllow was not evicted")
		}
		if pdb := f.getBudget("batch"); len(pdb.Status.DisruptedPods) != 0 {
			t.Fatalf("an unready pod took from its budget: %+v", pdb.Status)
		}
	}

	// options
	{
		f.pod("opt-0", nil, corev1.PodRunning, true)
		f.evict(http.StatusInternalServerError, "opt-0", "?dryRun=All", &metav1.DeleteOptions{DryRun: []string{"All", "All"}})
		rv := "1"
		f.evict(http.StatusConflict, "opt-0", "", &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		f.evict(http.StatusNotFound, "missing", "", nil)
		f.evict(http.StatusCreated, "opt-0", "", nil) // no budget
		if p := f.getPod("opt-0"); p.DeletionTimestamp == nil {
			t.Fatal("a pod without a budget was not evicted")
		}
	}
}
