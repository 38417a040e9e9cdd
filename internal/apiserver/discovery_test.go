package apiserver

import "testing"

func TestWantsAggregated(t *testing.T) {
	tests := []struct {
		name   string
		accept string
		want   bool
	}{
		{name: "kubectl", accept: acceptDiscoveryOrJSON, want: true},
		{name: "aggregated only", accept: aggregatedMedia, want: true},
		{name: "parameters reordered", accept: "application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io", want: true},
		{name: "spaces", accept: "application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList", want: true},
		{name: "second choice", accept: "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", want: true},
		{name: "protobuf aggregated then json aggregated", accept: "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", want: true},
		{name: "none"},
		{name: "json", accept: "application/json"},
		{name: "anything", accept: "*/*"},
		{name: "v2beta1 only", accept: "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"},
		{name: "protobuf aggregated only", accept: "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"},
		{name: "table", accept: acceptKubectlGet},
		{name: "other group", accept: "application/json;g=meta.k8s.io;v=v2;as=APIGroupDiscoveryList"},
		{name: "other kind", accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=Table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wantsAggregated(tt.accept); got != tt.want {
				t.Errorf("wantsAggregated(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}
