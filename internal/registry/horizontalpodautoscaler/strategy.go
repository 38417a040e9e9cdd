package horizontalpodautoscaler

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy             = (*v2Strategy)(nil)
	_ registry.StatusMetadataWriter = (*v2Strategy)(nil)
)

const (
	kind   = "HorizontalPodAutoscaler"
	plural = "horizontalpodautoscalers"

	// defaultCPUUtilization is the CPU utilization target, in percent, of an
	// autoscaler given no metric.
	defaultCPUUtilization = 80
)

// info names the resource at version ("v1" or "v2").
func info(version string) registry.Info {
	return registry.Info{
		Group:        autoscalingv2.GroupName,
		Version:      version,
		Kind:         kind,
		ListKind:     kind + "List",
		Resource:     plural,
		Singular:     "horizontalpodautoscaler",
		ShortNames:   []string{"hpa"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

// v2Strategy serves autoscaling/v2 HorizontalPodAutoscalers, the stored form.
type v2Strategy struct{}

// NewV2 returns the autoscaling/v2 HorizontalPodAutoscaler strategy, whose objects are
// stored as they are served.
func NewV2() registry.Strategy { return &v2Strategy{} }

func (*v2Strategy) Info() registry.Info     { return info("v2") }
func (*v2Strategy) New() runtime.Object     { return &autoscalingv2.HorizontalPodAutoscaler{} }
func (*v2Strategy) NewList() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} }

func (*v2Strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*v2Strategy) PrepareForCreate(obj runtime.Object) {
	prepareForCreate(obj.(*autoscalingv2.HorizontalPodAutoscaler))
}

func (*v2Strategy) PrepareForUpdate(obj, old runtime.Object) {
	prepareForUpdate(obj.(*autoscalingv2.HorizontalPodAutoscaler), old.(*autoscalingv2.HorizontalPodAutoscaler))
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do. autoscaling/v1 status writers
// need it: they report conditions and current metrics in annotations.
func (*v2Strategy) StatusWritesMetadata() {}

func (*v2Strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	prepareForStatusUpdate(obj.(*autoscalingv2.HorizontalPodAutoscaler), old.(*autoscalingv2.HorizontalPodAutoscaler))
}

func (*v2Strategy) Default(obj runtime.Object) {
	setDefaults(obj.(*autoscalingv2.HorizontalPodAutoscaler))
}

func (*v2Strategy) Validate(obj runtime.Object) field.ErrorList {
	return validate(obj.(*autoscalingv2.HorizontalPodAutoscaler), nil)
}

func (*v2Strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validate(obj.(*autoscalingv2.HorizontalPodAutoscaler), old.(*autoscalingv2.HorizontalPodAutoscaler))
}

func (*v2Strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatus(&obj.(*autoscalingv2.HorizontalPodAutoscaler).Status)
}

func (*v2Strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*v2Strategy) Columns() []metav1.TableColumnDefinition { return columns() }

func (*v2Strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	return row(obj.(*autoscalingv2.HorizontalPodAutoscaler), now)
}

// prepareForCreate clears the status and starts the generation at 1 (upstream's
// HPAGeneration gate, beta and on in v1.37).
func prepareForCreate(h *autoscalingv2.HorizontalPodAutoscaler) {
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	h.Generation = 1
}

// prepareForUpdate keeps the stored status and generation, bumping the generation when
// the spec, once defaulted, differs from the stored one.
func prepareForUpdate(h, old *autoscalingv2.HorizontalPodAutoscaler) {
	h.Status = *old.Status.DeepCopy()
	h.Generation = old.Generation
	setDefaults(h)
	if !equality.Semantic.DeepEqual(h.Spec, old.Spec) {
		h.Generation++
	}
}

// prepareForStatusUpdate keeps the stored spec.
func prepareForStatusUpdate(h, old *autoscalingv2.HorizontalPodAutoscaler) {
	h.Spec = *old.Spec.DeepCopy()
}

// setDefaults applies upstream's autoscaling/v2 defaults: one minimum replica, a CPU
// utilization target of 80% when no metric is given, and a behavior, when set,
// completed with the rules the controller uses for a direction left unset. It also
// drops the autoscaling/v1 round-trip annotations, which upstream's decoding drops from
// every autoscaling/v2 object.
func setDefaults(h *autoscalingv2.HorizontalPodAutoscaler) {
	h.Annotations = dropRoundTripAnnotations(h.Annotations)
	spec := &h.Spec
	if spec.MinReplicas == nil {
		spec.MinReplicas = ptr.To[int32](1)
	}
	if len(spec.Metrics) == 0 {
		spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(defaultCPUUtilization)}
	}
	if b := spec.Behavior; b != nil {
		b.ScaleUp = completeRules(b.ScaleUp, scaleUpRules())
		b.ScaleDown = completeRules(b.ScaleDown, scaleDownRules())
	}
}

// scaleUpRules returns upstream's default scale-up rules: no stabilization, and the
// larger of 4 pods and 100% more every 15 seconds.
func scaleUpRules() *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
}

// scaleDownRules returns upstream's default scale-down rules: 100% fewer every 15
// seconds. The stabilization window stays unset: the controller's own setting applies.
func scaleDownRules() *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{
		SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
}

// completeRules fills what rules leaves unset from defaults; nil rules are the
// defaults. An empty, non-nil list of policies is kept, for validation to refuse.
func completeRules(rules, defaults *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if rules == nil {
		return defaults
	}
	if rules.StabilizationWindowSeconds == nil {
		rules.StabilizationWindowSeconds = defaults.StabilizationWindowSeconds
	}
	if rules.SelectPolicy == nil {
		rules.SelectPolicy = defaults.SelectPolicy
	}
	if rules.Policies == nil {
		rules.Policies = defaults.Policies
	}
	return rules
}

// columns are upstream's, the same at both versions.
func columns() []metav1.TableColumnDefinition {
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Reference", Type: "string", Description: spec["scaleTargetRef"]},
		{Name: "Targets", Type: "string", Description: spec["metrics"]},
		{Name: "MinPods", Type: "string", Description: spec["minReplicas"]},
		{Name: "MaxPods", Type: "string", Description: spec["maxReplicas"]},
		{Name: "Replicas", Type: "string", Description: autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]},
		registry.AgeColumn(),
	}
}

// row shows the target as "Kind/Name", each metric as "current/target", and an unset
// minReplicas as "<unset>".
func row(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = strconv.Itoa(int(*h.Spec.MinReplicas))
	}
	return []interface{}{
		h.Name,
		h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		formatMetrics(h.Spec.Metrics, h.Status.CurrentMetrics),
		minPods,
		int64(h.Spec.MaxReplicas),
		int64(h.Status.CurrentReplicas),
		registry.Since(h.CreationTimestamp.Time, now),
	}
}

// shownMetrics is how many metrics the Targets cell lists before "+ N more...".
const shownMetrics = 2

// formatMetrics renders the Targets cell as upstream's printer does: each metric as
// "current/target" ("cpu: 50%/80%", "10/20 (avg)"), a current value not reported as
// "<unknown>", "<none>" without metrics. The status of a metric is the one at the same
// index.
func formatMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	list := make([]string, len(specs))
	for i := range specs {
		status := &autoscalingv2.MetricStatus{}
		if i < len(statuses) {
			status = &statuses[i]
		}
		list[i] = formatMetric(&specs[i], status)
	}
	if len(list) > shownMetrics {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:shownMetrics], ", "), len(list)-shownMetrics)
	}
	return strings.Join(list, ", ")
}

func formatMetric(spec *autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	const unknown = "<unknown>"
	switch {
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		var current *autoscalingv2.MetricValueStatus
		if status.External != nil {
			current = &status.External.Current
		}
		return formatValue(spec.External.Target, current)
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		var current *autoscalingv2.MetricValueStatus
		if status.Object != nil {
			current = &status.Object.Current
		}
		return formatValue(spec.Object.Target, current)
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		current := unknown
		if status.Pods != nil {
			current = status.Pods.Current.AverageValue.String()
		}
		return current + "/" + spec.Pods.Target.AverageValue.String()
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		var current *autoscalingv2.MetricValueStatus
		if status.Resource != nil {
			current = &status.Resource.Current
		}
		return formatResource(spec.Resource.Name, spec.Resource.Target, current)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		var current *autoscalingv2.MetricValueStatus
		if status.ContainerResource != nil {
			current = &status.ContainerResource.Current
		}
		return formatResource(spec.ContainerResource.Name, spec.ContainerResource.Target, current)
	}
	return "<unknown type>"
}

// formatValue renders an Object or External metric: its average value ("(avg)") when
// it targets one, else its value. current is nil when not reported.
func formatValue(target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	shown := "<unknown>"
	if target.AverageValue != nil {
		if current != nil && current.AverageValue != nil {
			shown = current.AverageValue.String()
		}
		return shown + "/" + target.AverageValue.String() + " (avg)"
	}
	if current != nil {
		shown = current.Value.String()
	}
	return shown + "/" + target.Value.String()
}

// formatResource renders a (container) resource metric, "name: current/target": its
// average value when it targets one, else its utilization in percent ("<auto>" with no
// target).
func formatResource(name corev1.ResourceName, target autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	shown := "<unknown>"
	if target.AverageValue != nil {
		if current != nil {
			shown = current.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, shown, target.AverageValue.String())
	}
	if current != nil && current.AverageUtilization != nil {
		shown = fmt.Sprintf("%d%%", *current.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, shown, want)
}
