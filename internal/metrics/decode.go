package metrics

import (
	"fmt"
	"io"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/types"
)

// The kubelet's resource metrics a scrape reads.
const (
	nodeCPU          = "node_cpu_usage_seconds_total"
	nodeMemory       = "node_memory_working_set_bytes"
	containerCPU     = "container_cpu_usage_seconds_total"
	containerMemory  = "container_memory_working_set_bytes"
	containerStarted = "container_start_time_seconds"
)

// Scrape is what one node's /metrics/resource says.
type Scrape struct {
	// Node is the node's reading; nil when it lacks its CPU or memory.
	Node *Point
	// Pods are the readings of each pod's containers, by container name. A pod one of
	// whose containers lacks its CPU or memory is left out.
	Pods map[types.NamespacedName]map[string]Point
}

// Decode reads a node's /metrics/resource (the Prometheus text format). A sample
// without a timestamp counts as taken at now.
func Decode(r io.Reader, now time.Time) (Scrape, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Scrape{}, fmt.Errorf("parsing the resource metrics: %w", err)
	}
	at := func(m *dto.Metric) time.Time {
		if m.TimestampMs != nil {
			return time.UnixMilli(m.GetTimestampMs())
		}
		return now
	}
	var node Point
	for _, m := range families[nodeCPU].GetMetric() {
		node.CPU, node.Timestamp = nanos(value(m)), at(m)
	}
	for _, m := range families[nodeMemory].GetMetric() {
		node.Memory = uint64(value(m))
		if node.Timestamp.IsZero() {
			node.Timestamp = at(m)
		}
	}
	out := Scrape{Pods: map[types.NamespacedName]map[string]Point{}}
	if node.CPU != 0 && node.Memory != 0 {
		out.Node = &node
	}
	containers := map[types.NamespacedName]map[string]*Point{}
	point := func(m *dto.Metric) *Point {
		var pod types.NamespacedName
		var name string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "namespace":
				pod.Namespace = l.GetValue()
			case "pod":
				pod.Name = l.GetValue()
			case "container":
				name = l.GetValue()
			}
		}
		if containers[pod] == nil {
			containers[pod] = map[string]*Point{}
		}
		p := containers[pod][name]
		if p == nil {
			p = &Point{}
			containers[pod][name] = p
		}
		return p
	}
	// The CPU's time is the reading's: the rate is computed over it.
	for _, m := range families[containerCPU].GetMetric() {
		p := point(m)
		p.CPU, p.Timestamp = nanos(value(m)), at(m)
	}
	for _, m := range families[containerMemory].GetMetric() {
		p := point(m)
		p.Memory = uint64(value(m))
		if p.Timestamp.IsZero() {
			p.Timestamp = at(m)
		}
	}
	for _, m := range families[containerStarted].GetMetric() {
		point(m).StartTime = time.Unix(0, int64(value(m)*1e9))
	}
	for pod, cs := range containers {
		complete := map[string]Point{}
		for name, p := range cs {
			if p.CPU == 0 || p.Memory == 0 {
				complete = nil
				break
			}
			complete[name] = *p
		}
		if len(complete) > 0 {
			out.Pods[pod] = complete
		}
	}
	return out, nil
}

// value is a sample's value, whatever its type.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return m.GetUntyped().GetValue()
}

// nanos turns seconds into nanoseconds.
func nanos(seconds float64) uint64 {
	if seconds <= 0 {
		return 0
	}
	return uint64(seconds * 1e9)
}
