package endpointslice

import (
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRun drives the running controller through its informers: pods appear, one
// turns not ready, one leaves the Service by its labels, and a deleted slice comes
// back; the Service never has more than one slice.
func TestRun(t *testing.T) {
	client := fake.NewClientset()
	stampSlices(client)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go c.Run(ctx)

	api := client.DiscoveryV1().EndpointSlices("ns")
	// wait returns the Service's slices once cond holds for them; it wakes on every
	// slice event.
	wait := func(what string, cond func([]discoveryv1.EndpointSlice) bool) []discoveryv1.EndpointSlice {
		t.Helper()
		w, err := api.Watch(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		timeout := time.After(10 * time.Second)
		for {
			list, err := api.List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) > 1 {
				t.Fatalf("%s: %d slices", what, len(list.Items))
			}
			if cond(list.Items) {
				return list.Items
			}
			select {
			case <-w.ResultChan():
			case <-timeout:
				t.Fatalf("%s: slices %+v", what, list.Items)
			}
		}
	}
	endpoints := func(items []discoveryv1.EndpointSlice) map[string]bool {
		out := map[string]bool{}
		for _, s := range items {
			for _, ep := range s.Endpoints {
				out[ep.TargetRef.Name] = *ep.Conditions.Ready
			}
		}
		return out
	}
	rv := 0
	write := func(p *corev1.Pod, create bool) {
		t.Helper()
		rv++
		p.ResourceVersion = strconv.Itoa(rv) // the fake API sets none; the handlers compare them
		if create {
			_, err = client.CoreV1().Pods("ns").Create(ctx, p, metav1.CreateOptions{})
		} else {
			_, err = client.CoreV1().Pods("ns").Update(ctx, p, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	if _, err := client.CoreV1().Nodes().Create(ctx, node("n1", "zone-a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services("ns").Create(ctx, service("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("placeholder", func(s []discoveryv1.EndpointSlice) bool { return len(s) == 1 && len(s[0].Endpoints) == 0 })
	a, b := pod("a", "web", "10.42.0.1"), pod("b", "web", "10.42.0.2")
	write(a, true)
	write(b, true)
	wait("two pods", func(s []discoveryv1.EndpointSlice) bool {
		e := endpoints(s)
		return len(e) == 2 && e["a"] && e["b"]
	})

	notReady(a)
	write(a, false)
	wait("a not ready", func(s []discoveryv1.EndpointSlice) bool {
		e := endpoints(s)
		return len(e) == 2 && !e["a"] && e["b"]
	})

	b.Labels = map[string]string{"app": "other"}
	write(b, false)
	items := wait("b gone", func(s []discoveryv1.EndpointSlice) bool {
		e := endpoints(s)
		return len(e) == 1 && !e["a"]
	})

	if err := api.Delete(ctx, items[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("recreated", func(s []discoveryv1.EndpointSlice) bool {
		return len(s) == 1 && s[0].Name != items[0].Name && slices.Equal(targets(s[0]), []string{"a"})
	})
}
