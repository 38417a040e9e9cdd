package node

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the node strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "Node",
		ListKind:     "NodeList",
		Resource:     "nodes",
		Singular:     "node",
		ShortNames:   []string{"no"},
		Subresources: []string{"status", "proxy"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Node{} }
func (*strategy) NewList() runtime.Object { return &corev1.NodeList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate keeps everything, status included, but drops the retired dynamic
// kubelet configuration fields.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	n := obj.(*corev1.Node)
	n.Spec.ConfigSource = nil
	n.Status.Config = nil
	matchPodCIDR(n)
}

func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	n, oldN := obj.(*corev1.Node), old.(*corev1.Node)
	n.Status = oldN.Status
	if oldN.Spec.ConfigSource == nil {
		n.Spec.ConfigSource = nil
	}
	matchPodCIDR(n)
}

// matchPodCIDR keeps the singular podCIDR the first of podCIDRs, as upstream's
// conversion through its internal type (which has only the list) does: a podCIDR alone
// becomes the list, and when both are given the list wins. podCIDRs being immutable once
// set, podCIDR is then too.
func matchPodCIDR(n *corev1.Node) {
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
	}
	n.Spec.PodCIDR = ""
	if len(n.Spec.PodCIDRs) > 0 {
		n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
	}
}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	n, oldN := obj.(*corev1.Node), old.(*corev1.Node)
	n.Spec = oldN.Spec
	if oldN.Status.Config == nil {
		n.Status.Config = nil
	}
}

// Default copies capacity to allocatable when a node reports no allocatable.
func (*strategy) Default(obj runtime.Object) {
	n := obj.(*corev1.Node)
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	n := obj.(*corev1.Node)
	errs := validateTaintsAndResources(n)
	if len(n.Spec.PodCIDRs) == 0 {
		return errs
	}
	path := field.NewPath("spec", "podCIDRs")
	for i, cidr := range n.Spec.PodCIDRs {
		errs = append(errs, validation.IsValidCIDRForLegacyField(path.Index(i), cidr, false, nil)...)
	}
	if len(n.Spec.PodCIDRs) > 1 {
		dual, err := netutils.IsDualStackCIDRStrings(n.Spec.PodCIDRs)
		if err != nil {
			errs = append(errs, field.InternalError(path, fmt.Errorf("invalid PodCIDRs. failed to check with dual stack with error:%v", err)))
		}
		if !dual || len(n.Spec.PodCIDRs) > 2 {
			errs = append(errs, field.Invalid(path, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
		}
		seen := map[string]bool{}
		for i, cidr := range n.Spec.PodCIDRs {
			if seen[cidr] {
				errs = append(errs, field.Duplicate(path.Index(i), cidr))
			}
			seen[cidr] = true
		}
	}
	return errs
}

func (s *strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return append(s.Validate(obj), validateChanges(obj.(*corev1.Node), old.(*corev1.Node))...)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	n := obj.(*corev1.Node)
	return append(validateTaintsAndResources(n), validateChanges(n, old.(*corev1.Node))...)
}

// validateTaintsAndResources checks what every write checks: the taints (reported under
// metadata.taints, as upstream does) and the capacity and allocatable quantities.
func validateTaintsAndResources(n *corev1.Node) field.ErrorList {
	errs := validateTaints(n.Spec.Taints, field.NewPath("metadata", "taints"))
	errs = append(errs, validateResources(n.Status.Capacity, field.NewPath("status", "capacity"))...)
	return append(errs, validateResources(n.Status.Allocatable, field.NewPath("status", "allocatable"))...)
}

// validateChanges checks what an update may not change or break: addresses stay unique,
// podCIDRs and providerID are set once, externalID never changes.
func validateChanges(n, old *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.NodeAddress]bool{}
	for i, addr := range n.Status.Addresses {
		if seen[addr] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), addr))
		}
		seen[addr] = true
	}
	if len(old.Spec.PodCIDRs) > 0 {
		changed := len(old.Spec.PodCIDRs) != len(n.Spec.PodCIDRs)
		for i := 0; !changed && i < len(old.Spec.PodCIDRs); i++ {
			changed = old.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i]
		}
		if changed {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), `node updates may not change podCIDR except from "" to valid`))
		}
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), `node updates may not change providerID except from "" to valid`))
	}
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

var taintEffects = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}

func validateTaints(taints []corev1.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.TaintEffect]map[string]bool{}
	for i, taint := range taints {
		p := path.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(taint.Key, p.Child("key"))...)
		if msgs := content.IsLabelValue(taint.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(p.Child("value"), taint.Value, strings.Join(msgs, ";")))
		}
		switch taint.Effect {
		case "":
			errs = append(errs, field.Required(p.Child("effect"), ""))
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			errs = append(errs, field.NotSupported(p.Child("effect"), taint.Effect, taintEffects))
		}
		if seen[taint.Effect][taint.Key] {
			dup := field.Duplicate(p, taint)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[taint.Effect] == nil {
			seen[taint.Effect] = map[string]bool{}
		}
		seen[taint.Effect][taint.Key] = true
	}
	return errs
}

// validateResources checks that quantities are not negative and that pods and extended
// resources are whole numbers.
func validateResources(list corev1.ResourceList, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		p := path.Child(string(name))
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(p, q.String(), apivalidation.IsNegativeErrorMsg))
		}
		if isIntegerResource(name) && q.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(p, q, "must be an integer"))
		}
	}
	return errs
}

// isIntegerResource reports whether a resource is counted in whole units: pods, and
// extended resources (names with a domain outside kubernetes.io).
func isIntegerResource(name corev1.ResourceName) bool {
	if name == corev1.ResourcePods {
		return true
	}
	domain, _, found := strings.Cut(string(name), "/")
	if !found {
		return false
	}
	return domain != "kubernetes.io" && !strings.HasSuffix(domain, ".kubernetes.io")
}

func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, false)
	set["spec.unschedulable"] = fmt.Sprint(obj.(*corev1.Node).Spec.Unschedulable)
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	info := corev1.NodeSystemInfo{}.SwaggerDoc()
	addresses := corev1.NodeStatus{}.SwaggerDoc()["addresses"]
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Status", Type: "string", Description: "The status of the node"},
		{Name: "Roles", Type: "string", Description: "The roles of the node"},
		registry.AgeColumn(),
		{Name: "Version", Type: "string", Description: info["kubeletVersion"]},
		{Name: "Internal-IP", Type: "string", Priority: 1, Description: addresses},
		{Name: "External-IP", Type: "string", Priority: 1, Description: addresses},
		{Name: "OS-Image", Type: "string", Priority: 1, Description: info["osImage"]},
		{Name: "Kernel-Version", Type: "string", Priority: 1, Description: info["kernelVersion"]},
		{Name: "Container-Runtime", Type: "string", Priority: 1, Description: info["containerRuntimeVersion"]},
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	n := obj.(*corev1.Node)
	info := n.Status.NodeInfo
	return []interface{}{
		n.Name,
		status(n),
		roles(n),
		registry.Since(n.CreationTimestamp.Time, now),
		info.KubeletVersion,
		address(n, corev1.NodeInternalIP),
		address(n, corev1.NodeExternalIP),
		orUnknown(info.OSImage),
		orUnknown(info.KernelVersion),
		orUnknown(info.ContainerRuntimeVersion),
	}
}

// status renders the Ready condition ("Ready", "NotReady", or "Unknown" when there is
// none) and appends "SchedulingDisabled" for a cordoned node.
func status(n *corev1.Node) string {
	s := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		s = "NotReady"
		if c.Status == corev1.ConditionTrue {
			s = "Ready"
		}
	}
	if n.Spec.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// roles lists, sorted and comma-separated, the roles named by node-role.kubernetes.io/<role>
// label keys and by the value of a kubernetes.io/role label; "<none>" when there are none.
func roles(n *corev1.Node) string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		if role, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && role != "" {
			set[role] = true
		} else if k == "kubernetes.io/role" && v != "" {
			set[v] = true
		}
	}
	if len(set) == 0 {
		return "<none>"
	}
	list := make([]string, 0, len(set))
	for r := range set {
		list = append(list, r)
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}

// address returns the node's first address of type t, or "<none>".
func address(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
