package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// MetricsSource reads the resource metrics API (metrics.k8s.io/v1beta1).
type MetricsSource interface {
	// PodMetrics lists the PodMetrics of the pods of namespace that selector selects.
	// An API that is not served, or that fails, is an error.
	PodMetrics(ctx context.Context, namespace string, selector labels.Selector) ([]metricsv1beta1.PodMetrics, error)
}

// NewMetricsSource returns a MetricsSource that lists PodMetrics through client.
func NewMetricsSource(client metricsclient.PodMetricsesGetter) MetricsSource {
	return resourceMetrics{client: client}
}

type resourceMetrics struct {
	client metricsclient.PodMetricsesGetter
}

var _ MetricsSource = resourceMetrics{}

func (m resourceMetrics) PodMetrics(ctx context.Context, namespace string, selector labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	list, err := m.client.PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// The custom and external metrics APIs are not read; Pods, Object and External
// metrics fail with these, as on a cluster that registers neither.
var (
	errNoCustomMetrics   = errors.New("no custom metrics API (custom.metrics.k8s.io) registered")
	errNoExternalMetrics = errors.New("no external metrics API (external.metrics.k8s.io) registered")
)

// sample is one pod's usage of a resource, in milli-units, sampled over window up to
// timestamp.
type sample struct {
	value     int64
	timestamp time.Time
	window    time.Duration
}

// samples are the usage of the pods a metric covers, by pod name.
type samples map[string]sample

// podUsage reads the usage of resource by the pods of namespace that selector selects:
// of container alone when it is set, otherwise of all the pod's containers. A pod
// missing a value is left out. It also returns the time of the first pod's sample.
func podUsage(ctx context.Context, source MetricsSource, resource corev1.ResourceName, namespace string, selector labels.Selector, container string) (samples, time.Time, error) {
	items, err := source.PodMetrics(ctx, namespace, selector)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	if len(items) == 0 {
		return nil, time.Time{}, errors.New("no metrics returned from resource metrics API")
	}
	return usageOf(items, resource, container), items[0].Timestamp.Time, nil
}

// usageOf sums each pod's usage of resource: container's alone when it is set (a pod
// without that container, or whose container has no value, is left out), otherwise
// every container's (a pod with no containers, or one container without a value, is
// left out).
func usageOf(items []metricsv1beta1.PodMetrics, resource corev1.ResourceName, container string) samples {
	out := make(samples, len(items))
	for _, m := range items {
		total, ok := int64(0), len(m.Containers) > 0
		for _, c := range m.Containers {
			if container != "" && c.Name != container {
				continue
			}
			v, found := c.Usage[resource]
			if !found {
				ok = false
				break
			}
			total += v.MilliValue()
			if container != "" {
				break
			}
		}
		if container != "" && !hasContainer(m.Containers, container) {
			ok = false
		}
		if ok {
			out[m.Name] = sample{value: total, timestamp: m.Timestamp.Time, window: m.Window.Duration}
		}
	}
	return out
}

func hasContainer(containers []metricsv1beta1.ContainerMetrics, name string) bool {
	for _, c := range containers {
		if c.Name == name {
			return true
		}
	}
	return false
}
