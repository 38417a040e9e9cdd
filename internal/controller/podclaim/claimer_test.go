package podclaim

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var (
	rsKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	web    = map[string]string{"app": "web"}
	other  = map[string]string{"app": "other"}
)

func newOwner() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "rs-uid"}}
}

// pod is a pod with labels l, controlled by the object ownerUID unless that is empty.
func pod(name string, l map[string]string, ownerUID types.UID) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: l}}
	if ownerUID != "" {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "x", UID: ownerUID, Controller: &yes}}
	}
	return p
}

func dying(p *corev1.Pod) *corev1.Pod {
	now := metav1.Now()
	p.DeletionTimestamp = &now
	return p
}

// live answers the Claimer's live reads with obj or err and counts them.
type live struct {
	obj   metav1.Object
	err   error
	calls int
}

func (l *live) get(context.Context) (metav1.Object, error) {
	l.calls++
	return l.obj, l.err
}

func newClaimer(t *testing.T, owner metav1.Object, l *live, pods ...*corev1.Pod) (*Claimer, *fake.Clientset) {
	t.Helper()
	objs := make([]runtime.Object, len(pods))
	for i, p := range pods {
		objs[i] = p
	}
	client := fake.NewClientset(objs...)
	return &Claimer{Client: client, Owner: owner, OwnerKind: rsKind,
		Selector: labels.SelectorFromSet(web), Live: l.get}, client
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func apiPod(t *testing.T, client *fake.Clientset, name string) *corev1.Pod {
	t.Helper()
	p, err := client.CoreV1().Pods("ns").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func controlledBy(p *corev1.Pod, uid types.UID) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == uid
}

func TestPods(t *testing.T) {
	owner := newOwner()
	orphan := pod("orphan", web, "")
	orphan.Finalizers = []string{"example.com/keep"}
	pods := []*corev1.Pod{
		pod("mine", web, owner.UID),
		orphan,
		pod("stray", other, owner.UID),
		pod("foreign", web, "other-uid"),
		pod("unpicked", other, ""),
		dying(pod("dying", web, "")),
		pod("nonmember", web, ""),
	}
	l := &live{obj: owner}
	c, client := newClaimer(t, owner, l, pods...)
	c.Match = func(p *corev1.Pod) bool { return p.Name != "nonmember" }
	c.Finalizers = []string{"example.com/track"}

	got, err := c.Pods(t.Context(), pods)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"mine", "orphan"}; !slices.Equal(names(got), want) {
		t.Errorf("claimed %v, want %v", names(got), want)
	}
	adopted := apiPod(t, client, "orphan")
	ref := metav1.GetControllerOf(adopted)
	if ref == nil || !reflect.DeepEqual(*ref, *metav1.NewControllerRef(owner, rsKind)) {
		t.Errorf("orphan's controller reference %+v", ref)
	}
	slices.Sort(adopted.Finalizers)
	if want := []string{"example.com/keep", "example.com/track"}; !slices.Equal(adopted.Finalizers, want) {
		t.Errorf("orphan's finalizers %v, want %v", adopted.Finalizers, want)
	}
	if refs := apiPod(t, client, "stray").OwnerReferences; len(refs) != 0 {
		t.Errorf("stray not released: %+v", refs)
	}
	for _, name := range []string{"unpicked", "dying", "nonmember"} {
		if refs := apiPod(t, client, name).OwnerReferences; len(refs) != 0 {
			t.Errorf("%s adopted: %+v", name, refs)
		}
	}
	if !controlledBy(apiPod(t, client, "foreign"), "other-uid") {
		t.Error("foreign pod changed hands")
	}
	if l.calls != 1 {
		t.Errorf("%d live reads, want 1", l.calls)
	}
}

// TestPodsOwnerDeleting checks that an owner being deleted, as the cache or the live
// read says, adopts nothing and releases nothing it has not released before it knew.
func TestPodsOwnerDeleting(t *testing.T) {
	now := metav1.Now()
	deleting := newOwner()
	deleting.DeletionTimestamp = &now
	replaced := newOwner()
	replaced.UID = "new-uid"
	for _, tc := range []struct {
		name      string
		cached    *appsv1.ReplicaSet
		live      *live
		wantReads int
	}{
		{"cached owner being deleted", deleting, &live{obj: newOwner()}, 0},
		{"live owner being deleted", newOwner(), &live{obj: deleting}, 1},
		{"live owner replaced", newOwner(), &live{obj: replaced}, 1},
		{"live owner gone", newOwner(), &live{err: apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pods := []*corev1.Pod{pod("mine", web, "rs-uid"), pod("orphan", web, ""), pod("stray", other, "rs-uid")}
			c, client := newClaimer(t, tc.cached, tc.live, pods...)
			got, err := c.Pods(t.Context(), pods)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"mine"}; !slices.Equal(names(got), want) {
				t.Errorf("claimed %v, want %v", names(got), want)
			}
			if refs := apiPod(t, client, "orphan").OwnerReferences; len(refs) != 0 {
				t.Errorf("orphan adopted: %+v", refs)
			}
			if !controlledBy(apiPod(t, client, "stray"), "rs-uid") {
				t.Error("stray released by an owner being deleted")
			}
			if tc.live.calls != tc.wantReads {
				t.Errorf("%d live reads, want %d", tc.live.calls, tc.wantReads)
			}
		})
	}
}

func TestPodsLiveReadFails(t *testing.T) {
	pods := []*corev1.Pod{pod("mine", web, "rs-uid"), pod("orphan", web, "")}
	l := &live{err: errors.New("etcd down")}
	c, client := newClaimer(t, newOwner(), l, pods...)
	if got, err := c.Pods(t.Context(), pods); err == nil || got != nil {
		t.Fatalf("got %v, %v; want the read's error", names(got), err)
	}
	l.err, l.obj = nil, newOwner()
	got, err := c.Pods(t.Context(), pods)
	if err != nil || !slices.Equal(names(got), []string{"mine", "orphan"}) {
		t.Fatalf("after the read recovers: %v, %v", names(got), err)
	}
	if !controlledBy(apiPod(t, client, "orphan"), "rs-uid") {
		t.Error("orphan not adopted")
	}
}

// TestPodsPatchErrors checks which patch failures are errors: every pod is still
// claimed, and the errors that count are joined.
func TestPodsPatchErrors(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	failures := map[string]error{
		"release-gone":     apierrors.NewNotFound(gr, "release-gone"),
		"release-replaced": apierrors.NewConflict(gr, "release-replaced", errors.New("uid")),
		"release-unowned":  apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "release-unowned", nil),
		"release-broken":   apierrors.NewInternalError(errors.New("release boom")),
		"adopt-gone":       apierrors.NewNotFound(gr, "adopt-gone"),
		"adopt-broken":     apierrors.NewInternalError(errors.New("adopt boom")),
	}
	pods := []*corev1.Pod{
		pod("release-gone", other, "rs-uid"),
		pod("release-replaced", other, "rs-uid"),
		pod("release-unowned", other, "rs-uid"),
		pod("release-broken", other, "rs-uid"),
		pod("adopt-gone", web, ""),
		pod("adopt-broken", web, ""),
		pod("adopt-ok", web, ""),
	}
	c, client := newClaimer(t, newOwner(), &live{obj: newOwner()}, pods...)
	client.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if err := failures[a.(k8stesting.PatchAction).GetName()]; err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	got, err := c.Pods(t.Context(), pods)
	if want := []string{"adopt-ok"}; !slices.Equal(names(got), want) {
		t.Errorf("claimed %v, want %v", names(got), want)
	}
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"release boom", "adopt boom", "adopting pod adopt-broken", "releasing pod release-broken"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, quiet := range []string{"release-gone", "release-replaced", "release-unowned", "adopt-gone"} {
		if strings.Contains(err.Error(), quiet) {
			t.Errorf("error %q mentions %s", err, quiet)
		}
	}
}

func revision(name string, ownerUID types.UID) *appsv1.ControllerRevision {
	r := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: web}}
	if ownerUID != "" {
		r.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(&metav1.ObjectMeta{Name: "x", UID: ownerUID}, rsKind)}
	}
	return r
}

func TestRevisions(t *testing.T) {
	revs := []*appsv1.ControllerRevision{revision("mine", "rs-uid"), revision("orphan", ""), revision("foreign", "other-uid")}
	newRevClaimer := func(l *live) (*Claimer, *fake.Clientset) {
		client := fake.NewClientset(revs[0], revs[1], revs[2])
		return &Claimer{Client: client, Owner: newOwner(), OwnerKind: rsKind, Selector: labels.SelectorFromSet(web), Live: l.get}, client
	}
	t.Run("adopts orphans", func(t *testing.T) {
		c, client := newRevClaimer(&live{obj: newOwner()})
		got, err := c.Revisions(t.Context(), revs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "mine" || got[1].Name != "orphan" {
			t.Fatalf("claimed %v", got)
		}
		r, _ := client.AppsV1().ControllerRevisions("ns").Get(t.Context(), "orphan", metav1.GetOptions{})
		if ref := metav1.GetControllerOf(r); ref == nil || ref.UID != "rs-uid" {
			t.Errorf("orphan's controller reference %+v", ref)
		}
	})
	t.Run("owner being deleted", func(t *testing.T) {
		now := metav1.Now()
		deleting := newOwner()
		deleting.DeletionTimestamp = &now
		c, _ := newRevClaimer(&live{obj: deleting})
		if _, err := c.Revisions(t.Context(), revs); err == nil || !strings.Contains(err.Error(), "can't adopt ControllerRevisions") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("no orphans, no live read", func(t *testing.T) {
		l := &live{err: errors.New("not to be called")}
		c, _ := newRevClaimer(l)
		got, err := c.Revisions(t.Context(), []*appsv1.ControllerRevision{revs[0], revs[2]})
		if err != nil || len(got) != 1 || l.calls != 0 {
			t.Fatalf("got %d revisions, %v, %d live reads", len(got), err, l.calls)
		}
	})
	t.Run("adoption fails", func(t *testing.T) {
		c, client := newRevClaimer(&live{obj: newOwner()})
		client.PrependReactor("patch", "controllerrevisions", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewInternalError(errors.New("boom"))
		})
		if _, err := c.Revisions(t.Context(), revs); err == nil || !strings.Contains(err.Error(), "adopting ControllerRevision orphan") {
			t.Fatalf("error %v", err)
		}
	})
}
