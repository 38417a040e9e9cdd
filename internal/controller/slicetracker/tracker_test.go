package slicetracker

import (
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func slice(uid string, gen int64) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{UID: types.UID("uid-" + uid), Generation: gen}}
}

// TestTracker: a cache is stale until it shows the controller's writes and deletions;
// only newer or unknown slices are others' changes; a deletion is expected once.
func TestTracker(t *testing.T) {
	tr := New()
	a2, b1 := slice("a", 2), slice("b", 1)
	tr.Wrote("ns/svc", a2)
	tr.Deleted("ns/svc", b1)
	if !tr.Stale("ns/svc", []*discoveryv1.EndpointSlice{slice("a", 1), b1}) {
		t.Error("a cache with an older slice and a deleted one is not stale")
	}
	if !tr.Stale("ns/svc", nil) {
		t.Error("a cache without a written slice is not stale")
	}
	if tr.Stale("ns/svc", []*discoveryv1.EndpointSlice{a2}) || tr.Stale("ns/other", nil) {
		t.Error("a cache that shows every write is stale")
	}
	if tr.ChangedByOthers("ns/svc", a2) || !tr.ChangedByOthers("ns/svc", slice("a", 3)) || !tr.ChangedByOthers("ns/svc", slice("c", 1)) {
		t.Error("ChangedByOthers")
	}
	if !tr.Gone("ns/svc", b1) || tr.Gone("ns/svc", b1) || tr.Gone("ns/svc", slice("c", 1)) {
		t.Error("a deletion the controller made is expected once, no other")
	}
}
