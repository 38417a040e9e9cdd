package openapi

import (
	"k8s.io/kube-openapi/pkg/spec3"
)

// SetAggregated publishes doc as the v3 document at path ("apis/GROUP/VERSION"), as
// the aggregated API server that serves that group version published it. It takes the
// place of custom resources' documents of the same path, as upstream's aggregator
// does; a built-in group version keeps its own.
func (s *Service) SetAggregated(path string, doc *spec3.OpenAPI) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.builtinGroups[path] {
		return
	}
	s.aggregated[path] = true
	s.groups[path] = true
	s.v3.UpdateGroupVersion(path, doc)
}

// RemoveAggregated withdraws the aggregated document at path; custom resources'
// documents of that path, if any, are published again.
func (s *Service) RemoveAggregated(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.aggregated[path] {
		return
	}
	delete(s.aggregated, path)
	_ = s.republish(map[string]bool{path: true})
}
