package server

import (
	"context"
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/metrics"
)

// cachedCluster is the nodes and pods of the API server's watch cache, for the
// resource metrics. api is called on use: the server is made after the resources.
type cachedCluster struct {
	api func() *apiserver.Server
}

var _ metrics.Cluster = cachedCluster{}

var (
	nodesGR = schema.GroupResource{Resource: "nodes"}
	podsGR  = schema.GroupResource{Resource: "pods"}
)

func (c cachedCluster) Nodes() []*corev1.Node {
	var out []*corev1.Node
	for _, obj := range c.api().Cached(nodesGR) {
		if n, ok := obj.(*corev1.Node); ok {
			out = append(out, n)
		}
	}
	return out
}

func (c cachedCluster) Node(name string) (*corev1.Node, bool) {
	obj, ok := c.api().CachedObject(nodesGR, "", name)
	if !ok {
		return nil, false
	}
	n, ok := obj.(*corev1.Node)
	return n, ok
}

func (c cachedCluster) Pods(namespace string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, obj := range c.api().CachedIn(podsGR, namespace) {
		if p, ok := obj.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

func (c cachedCluster) Pod(namespace, name string) (*corev1.Pod, bool) {
	obj, ok := c.api().CachedObject(podsGR, namespace, name)
	if !ok {
		return nil, false
	}
	p, ok := obj.(*corev1.Pod)
	return p, ok
}

// resourceMetricsFetcher GETs /metrics/resource from a node's agent the way the API
// server reaches agents for logs and the node proxy: at the address its Node gives,
// with the server's client certificate, accepting only that node's serving one.
func resourceMetricsFetcher(api *apiserver.Server, toAgents *agents) func(ctx context.Context, node string) (io.ReadCloser, error) {
	return func(ctx context.Context, node string) (io.ReadCloser, error) {
		addr, err := api.AgentAddress(node)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics/resource", nil)
		if err != nil {
			return nil, err
		}
		resp, err := toAgents.transport(node).RoundTrip(req)
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", node, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("node %q answered /metrics/resource with %s", node, resp.Status)
		}
		return resp.Body, nil
	}
}
