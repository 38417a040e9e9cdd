package podautoscaler

import (
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// selectorStore holds the selector of each autoscaler's target, to find pods that
// more than one autoscaler scales. An autoscaler is entered, selecting nothing, when
// it is queued, and leaves when it is deleted; a sync only updates an entry, so that
// an autoscaler deleted during its sync does not come back.
type selectorStore struct {
	mu          sync.Mutex                            // guards byNamespace
	byNamespace map[string]map[string]labels.Selector // namespace → name → selector
}

func newSelectorStore() *selectorStore {
	return &selectorStore{byNamespace: map[string]map[string]labels.Selector{}}
}

// add enters namespace/name selecting nothing, unless it is there already.
func (s *selectorStore) add(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.byNamespace[namespace]
	if ns == nil {
		ns = map[string]labels.Selector{}
		s.byNamespace[namespace] = ns
	}
	if _, ok := ns[name]; !ok {
		ns[name] = labels.Nothing()
	}
}

// update sets the selector of namespace/name and reports whether it was there.
func (s *selectorStore) update(namespace, name string, sel labels.Selector) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.byNamespace[namespace]
	if _, ok := ns[name]; !ok {
		return false
	}
	ns[name] = sel
	return true
}

// remove forgets namespace/name.
func (s *selectorStore) remove(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns := s.byNamespace[namespace]; ns != nil {
		delete(ns, name)
		if len(ns) == 0 {
			delete(s.byNamespace, namespace)
		}
	}
}

// selecting returns, sorted, the names of the autoscalers of namespace that select
// at least one of pods, stopping at limit names.
func (s *selectorStore) selecting(namespace string, pods []*corev1.Pod, limit int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := map[string]bool{}
	seen := map[string]bool{}
	for _, pod := range pods {
		set := labels.Set(pod.Labels)
		if k := set.String(); seen[k] {
			continue
		}
		seen[set.String()] = true
		for name, sel := range s.byNamespace[namespace] {
			if !found[name] && sel.Matches(set) {
				found[name] = true
				if len(found) >= limit {
					return sortedKeys(found)
				}
			}
		}
	}
	return sortedKeys(found)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
