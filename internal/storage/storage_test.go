package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/storage"
)

func newStore(t *testing.T) *storage.Store {
	t.Helper()
	return storage.New(etcdtest.Start(t), clientgoscheme.Scheme)
}

func newPod() runtime.Object { return &corev1.Pod{} }

func cm(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	key := storage.Key("configmaps", "ns", "a")
	obj := cm("a", nil)
	if err := s.Create(ctx, key, obj); err != nil {
		t.Fatal(err)
	}
	if obj.ResourceVersion == "" {
		t.Fatal("create did not set resourceVersion")
	}
	if err := s.Create(ctx, key, cm("a", nil)); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second create: got %v, want ErrExists", err)
	}
	got := &corev1.ConfigMap{}
	if err := s.Get(ctx, key, got); err != nil || got.ResourceVersion != obj.ResourceVersion {
		t.Fatalf("get: %v, rv %q want %q", err, got.ResourceVersion, obj.ResourceVersion)
	}
	newCM := func() runtime.Object { return &corev1.ConfigMap{} }
	up, err := s.Update(ctx, key, newCM, func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*corev1.ConfigMap)
		c.Data = map[string]string{"k": "v"}
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.(*corev1.ConfigMap).ResourceVersion == obj.ResourceVersion {
		t.Fatal("update did not move resourceVersion")
	}
	same, err := s.Update(ctx, key, newCM, func(cur runtime.Object) (runtime.Object, error) { return cur, nil })
	if err != nil || same.(*corev1.ConfigMap).ResourceVersion != up.(*corev1.ConfigMap).ResourceVersion {
		t.Fatalf("no-op update wrote: %v", err)
	}
	if _, err := s.Delete(ctx, key, newCM, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, key, got); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		labels := map[string]string{"even": strconv.FormatBool(i%2 == 0)}
		if err := s.Create(ctx, storage.Key("configmaps", "ns", fmt.Sprintf("c%02d", i)), cm(fmt.Sprintf("c%02d", i), labels)); err != nil {
			t.Fatal(err)
		}
	}
	newCM := func() runtime.Object { return &corev1.ConfigMap{} }
	var names []string
	opts := storage.ListOptions{Limit: 10}
	pages := 0
	for {
		res, err := s.List(ctx, storage.Prefix("configmaps", "ns"), opts, newCM)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range res.Items {
			names = append(names, o.(*corev1.ConfigMap).Name)
		}
		if res.Continue == "" {
			break
		}
		opts = storage.ListOptions{Limit: 10, Continue: res.Continue}
	}
	if len(names) != 25 || pages != 3 || names[0] != "c00" || names[24] != "c24" {
		t.Fatalf("paged list: %d names in %d pages: %v", len(names), pages, names)
	}
	even := func(o runtime.Object) bool { return o.(*corev1.ConfigMap).Labels["even"] == "true" }
	res, err := s.List(ctx, storage.Prefix("configmaps", "ns"), storage.ListOptions{Limit: 5, Filter: even}, newCM)
	if err != nil || len(res.Items) != 5 || res.Continue == "" {
		t.Fatalf("filtered page: %v, %d items, continue %q", err, len(res.Items), res.Continue)
	}
	if _, err := s.List(ctx, "/registry/configmaps/", storage.ListOptions{Continue: "garbage"}, newCM); !errors.Is(err, storage.ErrBadContinue) {
		t.Fatalf("bad continue: %v", err)
	}
}

func TestCacheWatchResumesAndFilters(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := storage.NewCache(s, storage.Prefix("pods", ""), newPod, 100)
	go c.Run(ctx)
	<-c.Ready()

	mk := func(name, phase string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodPhase(phase)}}
	}
	a := mk("a", "Pending")
	if err := s.Create(ctx, storage.Key("pods", "ns", "a"), a); err != nil {
		t.Fatal(err)
	}
	running := func(o runtime.Object) bool { return o.(*corev1.Pod).Status.Phase == "Running" }
	w, err := c.Watch(ctx, storage.WatchOptions{Revision: mustRV(t, a.ResourceVersion), Filter: running})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	all, err := c.Watch(ctx, storage.WatchOptions{Revision: mustRV(t, a.ResourceVersion)})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Stop()

	set := func(phase string) {
		_, err := s.Update(ctx, storage.Key("pods", "ns", "a"), newPod, func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			p.Status.Phase = corev1.PodPhase(phase)
			return p, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	set("Running")
	set("Succeeded")
	expect(t, w, watch.Added, "Running")
	expect(t, w, watch.Deleted, "Running") // the last state the watcher saw
	expect(t, all, watch.Modified, "Running")
	expect(t, all, watch.Modified, "Succeeded")

	// A watch from the start replays both changes from history.
	again, err := c.Watch(ctx, storage.WatchOptions{Revision: mustRV(t, a.ResourceVersion)})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	expect(t, again, watch.Modified, "Running")
	expect(t, again, watch.Modified, "Succeeded")

	// Initial events end with the annotated bookmark.
	init, err := c.Watch(ctx, storage.WatchOptions{InitialEvents: true, Bookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer init.Stop()
	expect(t, init, watch.Added, "Succeeded")
	ev := next(t, init)
	if b, ok := ev.Object.(*storage.Bookmark); ev.Type != watch.Bookmark || !ok || !b.InitialEventsEnd {
		t.Fatalf("want initial-events-end bookmark, got %v %#v", ev.Type, ev.Object)
	}
}

func TestCacheBookmarks(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := storage.NewCache(s, storage.Prefix("pods", ""), newPod, 100)
	go c.Run(ctx)
	<-c.Ready()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	if err := s.Create(ctx, storage.Key("pods", "ns", "p"), p); err != nil {
		t.Fatal(err)
	}
	rv := mustRV(t, p.ResourceVersion)
	with, err := c.Watch(ctx, storage.WatchOptions{Revision: rv, Bookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer with.Stop()
	without, err := c.Watch(ctx, storage.WatchOptions{Revision: rv})
	if err != nil {
		t.Fatal(err)
	}
	defer without.Stop()
	if _, _, err := c.List(ctx, storage.Prefix("pods", ""), rv, nil); err != nil { // the cache has seen p
		t.Fatal(err)
	}
	c.Bookmark()
	ev := next(t, with)
	if b, ok := ev.Object.(*storage.Bookmark); ev.Type != watch.Bookmark || !ok || b.Revision < rv || b.InitialEventsEnd {
		t.Fatalf("bookmark: %v %#v", ev.Type, ev.Object)
	}
	// The watcher that did not ask gets none: its next event is the next change.
	if err := s.Create(ctx, storage.Key("pods", "ns", "q"), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"}}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, without); ev.Type != watch.Added {
		t.Fatalf("watcher without bookmarks got %v", ev.Type)
	}
}

func TestCacheWatchTooOld(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := storage.NewCache(s, storage.Prefix("pods", ""), newPod, 4)
	go c.Run(ctx)
	<-c.Ready()
	first := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p0", Namespace: "ns"}}
	if err := s.Create(ctx, storage.Key("pods", "ns", "p0"), first); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, storage.WatchOptions{Revision: mustRV(t, first.ResourceVersion)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 1; i <= 20; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "ns"}}
		if err := s.Create(ctx, storage.Key("pods", "ns", p.Name), p); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 20; i++ {
		next(t, w) // the live watcher sees everything
	}
	if _, err := c.Watch(ctx, storage.WatchOptions{Revision: mustRV(t, first.ResourceVersion)}); !errors.Is(err, storage.ErrGone) {
		t.Fatalf("watch from trimmed history: %v, want ErrGone", err)
	}
}

func mustRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := storage.ParseRV(rv)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}

func expect(t *testing.T, w watch.Interface, typ watch.EventType, phase string) {
	t.Helper()
	ev := next(t, w)
	p, ok := ev.Object.(*corev1.Pod)
	if ev.Type != typ || !ok || string(p.Status.Phase) != phase {
		t.Fatalf("got %v %v, want %v with phase %s", ev.Type, ev.Object, typ, phase)
	}
}

// TestListExpiredContinue: a continue token whose revision was compacted is refused with
// ErrCompacted and a token that reads the rest of the list at the latest revision, with
// what changed since (an inconsistent list, as upstream's).
func TestListExpiredContinue(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		if err := s.Create(ctx, storage.Key("configmaps", "ns", fmt.Sprintf("c%02d", i)), cm(fmt.Sprintf("c%02d", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	newCM := func() runtime.Object { return &corev1.ConfigMap{} }
	first, err := s.List(ctx, storage.Prefix("configmaps", "ns"), storage.ListOptions{Limit: 2}, newCM)
	if err != nil || first.Continue == "" {
		t.Fatalf("first page: %v %q", err, first.Continue)
	}
	if err := s.Create(ctx, storage.Key("configmaps", "ns", "c99"), cm("c99", nil)); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client().Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	_, err = s.List(ctx, storage.Prefix("configmaps", "ns"), storage.ListOptions{Limit: 2, Continue: first.Continue}, newCM)
	var expired *storage.ExpiredContinueError
	if !errors.Is(err, storage.ErrCompacted) || !errors.As(err, &expired) || expired.Token == "" {
		t.Fatalf("continue after compaction: %v", err)
	}
	var names []string
	opts := storage.ListOptions{Limit: 2, Continue: expired.Token}
	for {
		res, err := s.List(ctx, storage.Prefix("configmaps", "ns"), opts, newCM)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Items {
			names = append(names, o.(*corev1.ConfigMap).Name)
		}
		if res.Remaining != nil && *res.Remaining+int64(len(names)) != 5 {
			t.Errorf("remaining %d after %v, want 5 in all", *res.Remaining, names)
		}
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	if strings.Join(names, ",") != "c02,c03,c04,c05,c99" {
		t.Errorf("rest of the list: %v", names)
	}
}

// TestObjectTooLarge: etcd refusing a write for its size is ErrObjectTooLarge, on create
// and on update, and nothing is stored.
func TestObjectTooLarge(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	big := map[string]string{"k": strings.Repeat("x", 2<<20)}
	key := storage.Key("configmaps", "ns", "big")
	obj := cm("big", nil)
	obj.Data = big
	if err := s.Create(ctx, key, obj); !errors.Is(err, storage.ErrObjectTooLarge) {
		t.Fatalf("create of 2 MiB: %v, want ErrObjectTooLarge", err)
	}
	if err := s.Get(ctx, key, &corev1.ConfigMap{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after the refused create: %v", err)
	}
	if err := s.Create(ctx, key, cm("big", nil)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(ctx, key, func() runtime.Object { return &corev1.ConfigMap{} }, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data = big
		return cur, nil
	})
	if !errors.Is(err, storage.ErrObjectTooLarge) {
		t.Fatalf("update to 2 MiB: %v, want ErrObjectTooLarge", err)
	}
}
