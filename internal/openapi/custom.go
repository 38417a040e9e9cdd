package openapi

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// customSpecs are the documents of one custom resource definition's served versions,
// as apiextensions-apiserver's builder makes them.
type customSpecs struct {
	v2 []*spec.Swagger
	v3 map[string]*spec3.OpenAPI // by v3 document name, apis/GROUP/VERSION
}

// SetCustom publishes the documents of crd's served versions, replacing any it had:
// its paths and definitions join the v2 document, and each version's join the v3
// document of its group version.
func (s *Service) SetCustom(crd *apiextensionsv1.CustomResourceDefinition) error {
	c := &customSpecs{v3: map[string]*spec3.OpenAPI{}}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		v2, err := builder.BuildOpenAPIV2(crd, v.Name, builder.Options{V2: true, IncludeSelectableFields: true})
		if err != nil {
			return fmt.Errorf("openapi v2 of %s/%s: %w", crd.Name, v.Name, err)
		}
		v3, err := builder.BuildOpenAPIV3(crd, v.Name, builder.Options{IncludeSelectableFields: true})
		if err != nil {
			return fmt.Errorf("openapi v3 of %s/%s: %w", crd.Name, v.Name, err)
		}
		c.v2 = append(c.v2, v2)
		c.v3["apis/"+crd.Spec.Group+"/"+v.Name] = v3
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	touched := map[string]bool{}
	if old := s.custom[crd.Name]; old != nil {
		for name := range old.v3 {
			touched[name] = true
		}
	}
	for name := range c.v3 {
		touched[name] = true
	}
	s.custom[crd.Name] = c
	return s.republish(touched)
}

// RemoveCustom withdraws the documents of custom resource definition name.
func (s *Service) RemoveCustom(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.custom[name]
	if old == nil {
		return
	}
	delete(s.custom, name)
	touched := map[string]bool{}
	for n := range old.v3 {
		touched[n] = true
	}
	_ = s.republish(touched)
}

// republish remakes the v2 document and the v3 documents named in touched from the
// built-in documents and every definition's. Called with mu held.
func (s *Service) republish(touched map[string]bool) error {
	var v2 []*spec.Swagger
	byDoc := map[string][]*spec3.OpenAPI{}
	for _, c := range s.custom {
		v2 = append(v2, c.v2...)
		for name, doc := range c.v3 {
			byDoc[name] = append(byDoc[name], doc)
		}
	}
	for name := range touched {
		if s.aggregated[name] {
			continue // an aggregated server's document takes its place
		}
		docs := byDoc[name]
		if len(docs) == 0 {
			if !s.builtinGroups[name] {
				delete(s.groups, name)
				s.v3.DeleteGroupVersion(name)
			}
			continue
		}
		merged, err := builder.MergeSpecsV3(docs...)
		if err != nil {
			return fmt.Errorf("openapi v3 %s: %w", name, err)
		}
		s.groups[name] = true
		s.v3.UpdateGroupVersion(name, merged)
	}
	s.v2.Store(s.serialize(func() (*spec.Swagger, error) {
		base, _, err := s.base.Get()
		if err != nil || len(v2) == 0 {
			return base, err
		}
		return builder.MergeSpecs(base, v2...)
	}))
	return nil
}
