package e2e

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// waitFor watches one object (by namespace and name) for up to 30 s until cond holds
// for it; a nil object means it does not exist.
func waitFor[T runtime.Object](t *testing.T, lw cache.ListerWatcher, what string, cond func(obj T, exists bool) bool) {
	t.Helper()
	waitForWithin(t, 30*time.Second, lw, what, cond)
}

// waitForWithin is waitFor with a timeout of d.
func waitForWithin[T runtime.Object](t *testing.T, d time.Duration, lw cache.ListerWatcher, what string, cond func(obj T, exists bool) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var zero T
	precond := func(store cache.Store) (bool, error) {
		items := store.List()
		if len(items) == 0 {
			return cond(zero, false), nil
		}
		return cond(items[0].(T), true), nil
	}
	_, err := watchtools.UntilWithSync(ctx, lw, zero, precond, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return cond(zero, false), nil
		}
		obj, ok := ev.Object.(T)
		return ok && cond(obj, true), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func one(cs kubernetes.Interface, resource, namespace, name string) cache.ListerWatcher {
	var getter cache.Getter
	switch resource {
	case "endpointslices":
		getter = cs.DiscoveryV1().RESTClient()
	case "deployments", "replicasets", "statefulsets", "daemonsets":
		getter = cs.AppsV1().RESTClient()
	case "jobs", "cronjobs":
		getter = cs.BatchV1().RESTClient()
	case "poddisruptionbudgets":
		getter = cs.PolicyV1().RESTClient()
	case "clusterroles", "roles", "clusterrolebindings", "rolebindings":
		getter = cs.RbacV1().RESTClient()
	case "certificatesigningrequests":
		getter = cs.CertificatesV1().RESTClient()
	default:
		getter = cs.CoreV1().RESTClient()
	}
	return cache.NewListWatchFromClient(getter, resource, namespace, fields.OneTermEqualSelector("metadata.name", name))
}

func TestKubernetesServiceAndControllers(t *testing.T) {
	// The advertised address is only data here (a documentation address): nothing
	// connects to it.
	c := startCluster(t, "--advertise-address", "192.0.2.10")
	cs := c.client()
	port := strconv.Itoa(c.port)
	checkAPIObjects := func() {
		t.Helper()
		waitFor(t, one(cs, "services", "default", "kubernetes"), "Service kubernetes", func(s *corev1.Service, ok bool) bool {
			return ok && s.Spec.ClusterIP == "10.43.0.1" && len(s.Spec.Ports) == 1 && s.Spec.Ports[0].Port == 443 &&
				s.Spec.Ports[0].TargetPort.String() == port && s.Spec.Ports[0].Name == "https"
		})
		waitFor(t, one(cs, "endpoints", "default", "kubernetes"), "Endpoints kubernetes", func(e *corev1.Endpoints, ok bool) bool {
			return ok && len(e.Subsets) == 1 && len(e.Subsets[0].Addresses) == 1 && e.Subsets[0].Addresses[0].IP == "192.0.2.10" &&
				strconv.Itoa(int(e.Subsets[0].Ports[0].Port)) == port
		})
		waitFor(t, one(cs, "endpointslices", "default", "kubernetes"), "EndpointSlice kubernetes", func(e *discoveryv1.EndpointSlice, ok bool) bool {
			return ok && e.AddressType == discoveryv1.AddressTypeIPv4 && len(e.Endpoints) == 1 && e.Endpoints[0].Addresses[0] == "192.0.2.10" &&
				e.Labels[discoveryv1.LabelServiceName] == "kubernetes"
		})
	}
	checkNamespace := func(ns string) {
		t.Helper()
		waitFor(t, one(cs, "serviceaccounts", ns, "default"), "ServiceAccount default in "+ns, func(_ *corev1.ServiceAccount, ok bool) bool { return ok })
		ca := readFile(t, c.dataDir+"/tls/ca.crt")
		waitFor(t, one(cs, "configmaps", ns, "kube-root-ca.crt"), "kube-root-ca.crt in "+ns, func(cm *corev1.ConfigMap, ok bool) bool {
			return ok && cm.Data["ca.crt"] == ca
		})
	}
	checkAPIObjects()
	for _, ns := range systemNamespaces {
		checkNamespace(ns)
	}
	c.mustKubectl("create", "namespace", "team-a")
	checkNamespace("team-a")

	// Deleted or changed, they come back.
	if err := cs.CoreV1().Services("default").Delete(bg, "kubernetes", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Endpoints controller deletes the Endpoints of a deleted Service itself, as
	// upstream's: the test's own deletes may find them gone.
	if err := cs.CoreV1().Endpoints("default").Delete(bg, "kubernetes", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err := cs.DiscoveryV1().EndpointSlices("default").Delete(bg, "kubernetes", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ServiceAccounts("team-a").Delete(bg, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("team-a").Patch(bg, "kube-root-ca.crt", types.MergePatchType, []byte(`{"data":{"ca.crt":"forged"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	checkAPIObjects()
	checkNamespace("team-a")
	out := c.mustKubectl("get", "svc", "kubernetes")
	if !strings.Contains(out, "10.43.0.1") || !strings.Contains(out, "443/TCP") {
		t.Fatalf("get svc kubernetes:\n%s", out)
	}

	// After a restart everything still converges, for old and new namespaces.
	c.stop()
	c.start()
	cs = c.client()
	checkAPIObjects()
	checkNamespace("team-a")
	c.mustKubectl("create", "namespace", "team-b")
	checkNamespace("team-b")
}

func TestNamespaceDeletion(t *testing.T) {
	c := startCluster(t)
	cs := c.client()
	c.mustKubectl("create", "namespace", "doomed")
	if _, err := cs.CoreV1().Pods("doomed").Create(bg, podObj("p", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("doomed").Create(bg, podObj("bound", "node-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("doomed").Create(bg, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"a": "b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	held := cmObj("held", nil)
	held.Finalizers = []string{"example.com/hold"}
	if _, err := cs.CoreV1().ConfigMaps("doomed").Create(bg, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(bg, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Terminating; pods go first (upstream's ordered deletion): while the pod bound to a
	// node remains, everything else stays.
	waitFor(t, one(cs, "namespaces", "", "doomed"), "namespace Terminating with pods remaining", func(ns *corev1.Namespace, ok bool) bool {
		if !ok || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
			return false
		}
		for _, cond := range ns.Status.Conditions {
			if cond.Type == corev1.NamespaceContentRemaining && cond.Status == corev1.ConditionTrue && strings.Contains(cond.Message, "pods has 1 resource instances") {
				return true
			}
		}
		return false
	})
	out := c.mustKubectl("get", "namespace", "doomed")
	if !strings.Contains(out, "Terminating") {
		t.Fatalf("get namespace:\n%s", out)
	}
	_, err := cs.CoreV1().ConfigMaps("doomed").Create(bg, cmObj("late", nil), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "unable to create new content in namespace doomed because it is being terminated") ||
		!apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		t.Fatalf("create in a terminating namespace: %v", err)
	}
	waitFor(t, one(cs, "pods", "doomed", "p"), "unbound pod deleted", func(_ *corev1.Pod, ok bool) bool { return !ok })
	if _, err := cs.CoreV1().Secrets("doomed").Get(bg, "s", metav1.GetOptions{}); err != nil {
		t.Fatalf("the secret went before the pods: %v", err)
	}
	// The node finishes its pod: the rest goes, but for the configmap its finalizer holds.
	zero := int64(0)
	if err := c.nodeClient("node-1").CoreV1().Pods("doomed").Delete(bg, "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, one(cs, "secrets", "doomed", "s"), "secret deleted", func(_ *corev1.Secret, ok bool) bool { return !ok })
	waitFor(t, one(cs, "namespaces", "", "doomed"), "namespace held by a finalizer", func(ns *corev1.Namespace, ok bool) bool {
		if !ok {
			return false
		}
		for _, cond := range ns.Status.Conditions {
			if cond.Type == corev1.NamespaceFinalizersRemaining && cond.Status == corev1.ConditionTrue && strings.Contains(cond.Message, "example.com/hold") {
				return true
			}
		}
		return false
	})
	if _, err := cs.CoreV1().ConfigMaps("doomed").Patch(bg, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, one(cs, "namespaces", "", "doomed"), "namespace gone", func(_ *corev1.Namespace, ok bool) bool { return !ok })
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		if err := cs.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("deleting %s: %v", ns, err)
		}
	}
}

func TestInformerAndProtobuf(t *testing.T) {
	c := startCluster(t)
	jsonCfg := c.restConfig()
	jsonCfg.ContentType, jsonCfg.AcceptContentTypes = "application/json", "application/json"
	pbCfg := c.restConfig()
	pbCfg.ContentType, pbCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf"
	jsonCS, pbCS := kubernetes.NewForConfigOrDie(jsonCfg), kubernetes.NewForConfigOrDie(pbCfg)

	// A shared informer on the default (watch-list) path syncs and sees changes.
	if _, err := pbCS.CoreV1().Pods("default").Create(bg, podObj("before", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactory(pbCS, 0)
	seen := make(chan string, 10)
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { seen <- "add " + obj.(*corev1.Pod).Name },
		UpdateFunc: func(_, obj any) { seen <- "update " + obj.(*corev1.Pod).Name },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			seen <- "delete " + obj.(*corev1.Pod).Name
		},
	}); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, 20*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	expectSeen := func(want string) {
		t.Helper()
		for {
			select {
			case got := <-seen:
				if strings.HasPrefix(got, "update ") && got != want {
					continue // the scheduler reports the pods unschedulable: no node here
				}
				if got != want {
					t.Fatalf("informer: got %q, want %q", got, want)
				}
				return
			case <-time.After(20 * time.Second):
				t.Fatalf("informer: no %q", want)
			}
		}
	}
	expectSeen("add before")
	if _, err := jsonCS.CoreV1().Pods("default").Create(bg, podObj("after", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectSeen("add after")
	if _, err := pbCS.CoreV1().Pods("default").Patch(bg, "after", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	expectSeen("update after")
	if err := pbCS.CoreV1().Pods("default").Delete(bg, "after", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectSeen("delete after")

	// Protobuf and JSON give the same objects, single and listed, and the same errors.
	a, err := jsonCS.CoreV1().Pods("default").Get(bg, "before", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pbCS.CoreV1().Pods("default").Get(bg, "before", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.TypeMeta, b.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("JSON and protobuf pods differ:\n%+v\n%+v", a, b)
	}
	la, err := jsonCS.CoreV1().Namespaces().List(bg, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := pbCS.CoreV1().Namespaces().List(bg, metav1.ListOptions{ResourceVersion: la.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	for i := range la.Items {
		la.Items[i].TypeMeta = metav1.TypeMeta{}
	}
	for i := range lb.Items {
		lb.Items[i].TypeMeta = metav1.TypeMeta{}
	}
	if !reflect.DeepEqual(la.Items, lb.Items) {
		t.Fatalf("JSON and protobuf lists differ")
	}
	_, err = pbCS.CoreV1().Pods("default").Get(bg, "missing", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `pods "missing" not found`) {
		t.Fatalf("protobuf Status error: %v", err)
	}
	_, err = pbCS.CoreV1().Pods("default").Create(bg, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bad"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.containers") {
		t.Fatalf("protobuf validation error: %v", err)
	}
}
