package pod

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilnet "k8s.io/utils/net"
)

// Upstream's validation of a v1 Pod, with its field paths and messages. Object
// metadata is the caller's; the pod-specific annotation rules are here. Upstream
// switches that default on in 1.33+ are taken as on: relaxed environment variable
// names, relaxed DNS search paths, zero-second sleep actions.

const (
	podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

var (
	supportedPhases = []corev1.PodPhase{corev1.PodPending, corev1.PodRunning,
		corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown}

	// updatableSpecFields is upstream's list, in its order, for the update error.
	updatableSpecFields = []string{
		"`spec.containers[*].image`",
		"`spec.initContainers[*].image`",
		"`spec.activeDeadlineSeconds`",
		"`spec.tolerations` (only additions to existing tolerations)",
		"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
	}
)

// validationOptions carries what depends on the kind of write: the relaxations an
// update gets for invalid values the object it replaces already stores (see
// updateOptions), and the labels a create merges through matchLabelKeys.
type validationOptions struct {
	// allowInvalidDeletionCost keeps an already-invalid deletion cost annotation valid.
	allowInvalidDeletionCost bool
	// allowInvalidAffinitySelectorValues leaves the label values of pod affinity and
	// anti-affinity selectors unchecked.
	allowInvalidAffinitySelectorValues bool
	// allowInvalidNodeAffinityValues leaves the label values of required node
	// affinity unchecked.
	allowInvalidNodeAffinityValues bool
	// skipSpreadSelectors leaves the label selectors of topology spread constraints
	// unchecked.
	skipSpreadSelectors bool
	// allowSysAdminWithoutEscalation allows CAP_SYS_ADMIN with
	// allowPrivilegeEscalation=false.
	allowSysAdminWithoutEscalation bool
	// mergeLabels are, on create, the pod's labels: the values upstream merges into
	// label selectors for matchLabelKeys and mismatchLabelKeys (see validateLabelKeys).
	mergeLabels map[string]string
	// template marks the spec of a pod template, whose pods get defaults the template
	// has not had: a host-network container port may leave its host port 0.
	template bool
}

// updateOptions returns the relaxations for a write over oldPod: as upstream, an
// invalid value oldPod already stores does not make the update invalid.
func updateOptions(oldPod *corev1.Pod) validationOptions {
	return validationOptions{
		allowInvalidDeletionCost:           !validDeletionCost(oldPod.Annotations),
		allowInvalidAffinitySelectorValues: hasInvalidAffinitySelector(&oldPod.Spec),
		allowInvalidNodeAffinityValues:     hasInvalidNodeAffinityValue(&oldPod.Spec),
		skipSpreadSelectors:                hasInvalidSpreadSelector(&oldPod.Spec),
		allowSysAdminWithoutEscalation:     hasSysAdminWithoutEscalation(&oldPod.Spec),
	}
}

// validateCreate checks a new pod as upstream's ValidatePodCreate does.
func validateCreate(pod *corev1.Pod) field.ErrorList {
	errs := validatePod(pod, validationOptions{mergeLabels: pod.Labels})
	specPath := field.NewPath("spec")
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return append(errs, validateSecurityAnnotationsMatchFields(&pod.ObjectMeta, &pod.Spec, specPath)...)
}

// validatePod checks what every write of a whole pod must satisfy.
func validatePod(pod *corev1.Pod, opts validationOptions) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePodAnnotations(pod.Annotations, &pod.Spec, field.NewPath("metadata", "annotations"), opts)
	errs = append(errs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, opts, specPath)...)

	if pod.Spec.ServiceAccountName == "" {
		for vi, vol := range pod.Spec.Volumes {
			if vol.Projected == nil {
				continue
			}
			for si, src := range vol.Projected.Sources {
				if src.ServiceAccountToken != nil {
					p := specPath.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken")
					errs = append(errs, field.Forbidden(p, "must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	errs = append(errs, validateImageWhitespace(pod.Spec.Containers, specPath.Child("containers"))...)
	errs = append(errs, validateImageWhitespace(pod.Spec.InitContainers, specPath.Child("initContainers"))...)
	return errs
}

func validateImageWhitespace(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		if len(c.Image) != len(strings.TrimSpace(c.Image)) {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return errs
}

func validatePodAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path, opts validationOptions) field.ErrorList {
	var errs field.ErrorList
	if value, mirror := annotations[corev1.MirrorPodAnnotationKey]; mirror && spec.NodeName == "" {
		errs = append(errs, field.Invalid(fldPath.Key(corev1.MirrorPodAnnotationKey), value, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if !opts.allowInvalidDeletionCost && !validDeletionCost(annotations) {
		errs = append(errs, field.Invalid(fldPath.Key(podDeletionCostAnnotation), annotations[podDeletionCostAnnotation], "must be a 32bit integer"))
	}
	return append(errs, validateSecurityAnnotations(annotations, spec, fldPath)...)
}

// validDeletionCost reports whether the pod-deletion-cost annotation is absent or an
// int32 written plainly.
func validDeletionCost(annotations map[string]string) bool {
	value, ok := annotations[podDeletionCostAnnotation]
	if !ok {
		return true
	}
	n, err := strconv.ParseInt(value, 10, 32)
	return err == nil && strconv.FormatInt(n, 10) == value
}

// validateAnnotationUpdates forbids adding, changing or removing the mirror pod
// annotation and the deprecated AppArmor annotations.
func validateAnnotationUpdates(newPod, oldPod *corev1.Pod, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for key, oldValue := range oldPod.Annotations {
		if newValue, ok := newPod.Annotations[key]; ok && newValue == oldValue {
			continue
		}
		if what := frozenAnnotation(key); what != "" {
			errs = append(errs, field.Forbidden(fldPath.Key(key), "may not remove or update "+what))
		}
	}
	for key := range newPod.Annotations {
		if _, ok := oldPod.Annotations[key]; ok {
			continue
		}
		if what := frozenAnnotation(key); what != "" {
			errs = append(errs, field.Forbidden(fldPath.Key(key), "may not add "+what))
		}
	}
	return errs
}

// frozenAnnotation names, as upstream's messages do, what an annotation with key is
// if it may not change after create, or returns "".
func frozenAnnotation(key string) string {
	switch {
	case key == corev1.MirrorPodAnnotationKey:
		return "mirror pod annotation"
	case strings.HasPrefix(key, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix):
		return "AppArmor annotations"
	}
	return ""
}

func validatePodSpec(spec *corev1.PodSpec, podMeta *metav1.ObjectMeta, opts validationOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	grace := spec.TerminationGracePeriodSeconds
	if grace == nil {
		errs = append(errs, field.Required(fldPath.Child("terminationGracePeriodSeconds"), ""))
	} else {
		// Upstream only warns and treats a negative period as 1; podium refuses it.
		errs = append(errs, apivalidation.ValidateNonnegativeField(*grace, fldPath.Child("terminationGracePeriodSeconds"))...)
	}

	vols, volErrs := validateVolumes(spec.Volumes, podMeta, fldPath.Child("volumes"))
	errs = append(errs, volErrs...)
	claims := sets.New[string]()
	for _, c := range spec.ResourceClaims {
		if c.Name != "" {
			claims.Insert(c.Name)
		}
	}
	errs = append(errs, validatePodResourceClaims(spec.ResourceClaims, fldPath.Child("resourceClaims"))...)
	ctx := containerContext{
		volumes:                        vols,
		claims:                         claims,
		grace:                          grace,
		restartPolicy:                  spec.RestartPolicy,
		hostUsers:                      spec.HostUsers == nil || *spec.HostUsers,
		allowSysAdminWithoutEscalation: opts.allowSysAdminWithoutEscalation,
	}
	errs = append(errs, validateContainers(spec.Containers, ctx, fldPath.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, ctx, fldPath.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec, ctx, fldPath.Child("ephemeralContainers"))...)
	errs = append(errs, validateHostNetworkPorts(spec, opts.template, fldPath)...)
	errs = append(errs, validateRestartPolicy(spec.RestartPolicy, fldPath.Child("restartPolicy"))...)
	errs = append(errs, validateDNSPolicy(spec.DNSPolicy, fldPath.Child("dnsPolicy"))...)
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, fldPath.Child("securityContext"))...)
	if spec.SecurityContext != nil {
		errs = append(errs, validateSysctls(spec, fldPath.Child("securityContext", "sysctls"))...)
	}
	errs = append(errs, validateAffinity(spec.Affinity, opts, fldPath.Child("affinity"))...)
	errs = append(errs, validateDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	for i, gate := range spec.ReadinessGates {
		errs = append(errs, validateQualifiedName(string(gate.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	errs = append(errs, validateSchedulingGates(spec.SchedulingGates, fldPath.Child("schedulingGates"))...)
	errs = append(errs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, opts, fldPath.Child("topologySpreadConstraints"))...)
	errs = append(errs, validateOptionalName(spec.ServiceAccountName, fldPath.Child("serviceAccountName"))...)
	errs = append(errs, validateOptionalName(spec.NodeName, fldPath.Child("nodeName"))...)
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), v, validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.Hostname != "" {
		errs = append(errs, validateDNSLabel(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, validateDNSLabel(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	errs = append(errs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	for i, alias := range spec.HostAliases {
		p := fldPath.Child("hostAliases").Index(i)
		errs = append(errs, validation.IsValidIP(p.Child("ip"), alias.IP)...)
		for j, host := range alias.Hostnames {
			errs = append(errs, validateDNSSubdomain(host, p.Child("hostnames").Index(j))...)
		}
	}
	errs = append(errs, validateOptionalName(spec.PriorityClassName, fldPath.Child("priorityClassName"))...)
	if spec.RuntimeClassName != nil {
		errs = append(errs, validateDNSSubdomain(*spec.RuntimeClassName, fldPath.Child("runtimeClassName"))...)
	}
	if p := spec.PreemptionPolicy; p != nil {
		switch *p {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		case "":
			errs = append(errs, field.Required(fldPath.Child("preemptionPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("preemptionPolicy"), *p, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}))
		}
	}
	if spec.Overhead != nil {
		errs = append(errs, validateResources(corev1.ResourceRequirements{Limits: spec.Overhead}, nil, fldPath.Child("overhead"))...)
	}
	if spec.OS != nil {
		switch spec.OS.Name {
		case corev1.Linux:
			errs = append(errs, validateNoWindowsOptions(spec, fldPath)...)
		case corev1.Windows:
		case "":
			errs = append(errs, field.Required(fldPath.Child("os", "name"), ""))
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("os"), spec.OS.Name, []corev1.OSName{corev1.Linux, corev1.Windows}))
		}
	}
	errs = append(errs, validateHostNamespaces(spec, fldPath)...)
	errs = append(errs, validateFileKeyRefVolumes(spec, fldPath)...)
	return errs
}

// validateHostNamespaces checks what may not go together with the host's namespaces, as
// upstream: a shared process namespace with the host's PID namespace; a user namespace
// of the pod's own (hostUsers false) with the host's network, PID or IPC namespace or
// with block devices; a hostname of the pod's choosing with the host's network or an
// FQDN hostname.
func validateHostNamespaces(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.HostPID {
		errs = append(errs, field.Invalid(fldPath.Child("shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	if spec.HostUsers != nil && !*spec.HostUsers {
		const msg = "when `hostUsers` is false"
		// Upstream's paths, capitals included.
		if spec.HostNetwork {
			errs = append(errs, field.Forbidden(fldPath.Child("hostNetwork"), msg))
		}
		if spec.HostPID {
			errs = append(errs, field.Forbidden(fldPath.Child("HostPID"), msg))
		}
		if spec.HostIPC {
			errs = append(errs, field.Forbidden(fldPath.Child("HostIPC"), msg))
		}
		visitContainers(spec, fldPath, func(c *corev1.Container, p *field.Path) {
			if len(c.VolumeDevices) > 0 {
				errs = append(errs, field.Forbidden(p.Child("volumeDevices"), msg))
			}
		})
	}
	if h := spec.HostnameOverride; h != nil {
		p := fldPath.Child("hostnameOverride")
		if spec.SetHostnameAsFQDN != nil && *spec.SetHostnameAsFQDN {
			errs = append(errs, field.Forbidden(p, "may not be specified when setHostnameAsFQDN is true"))
		}
		if spec.HostNetwork {
			errs = append(errs, field.Forbidden(p, "may not be specified when hostNetwork is true"))
		}
		if len(*h) > 64 {
			errs = append(errs, field.TooLong(p, "", 64))
		}
		errs = append(errs, validateDNSSubdomain(*h, p)...)
	}
	return errs
}

// validateFileKeyRefVolumes checks that an env var read from a file names an emptyDir
// volume of the pod.
func validateFileKeyRefVolumes(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	sources := map[string]*corev1.VolumeSource{}
	for i := range spec.Volumes {
		sources[spec.Volumes[i].Name] = &spec.Volumes[i].VolumeSource
	}
	visitContainers(spec, fldPath, func(c *corev1.Container, p *field.Path) {
		for i, ev := range c.Env {
			if ev.ValueFrom == nil || ev.ValueFrom.FileKeyRef == nil {
				continue
			}
			name := ev.ValueFrom.FileKeyRef.VolumeName
			np := p.Child("env").Index(i).Child("valueFrom", "fileKeyRef", "volumeName")
			switch src, ok := sources[name]; {
			case !ok:
				errs = append(errs, field.NotFound(np, name))
			case src.EmptyDir == nil:
				errs = append(errs, field.Invalid(np, name, "referenced volume must be of type emptyDir"))
			}
		}
	})
	return errs
}

// visitContainers calls visit with every container of spec (init, regular, ephemeral)
// and its path.
func visitContainers(spec *corev1.PodSpec, fldPath *field.Path, visit func(*corev1.Container, *field.Path)) {
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i], fldPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i], fldPath.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		visit((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), fldPath.Child("ephemeralContainers").Index(i))
	}
}

// validateOptionalName checks an optional reference to an object named as a DNS subdomain.
func validateOptionalName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return nil
	}
	return validateDNSSubdomain(name, fldPath)
}

func validateDNSLabel(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func validateDNSSubdomain(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func validateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func validateRestartPolicy(policy corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	}
}

func validateDNSPolicy(policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone})}
	}
}

func validateDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must provide `dnsConfig` when `dnsPolicy` is %s", corev1.DNSNone))}
		}
		if len(cfg.Nameservers) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("nameservers"), fmt.Sprintf("must provide at least one DNS nameserver when `dnsPolicy` is %s", corev1.DNSNone))}
		}
	}
	if cfg == nil {
		return nil
	}
	var errs field.ErrorList
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs = append(errs, field.Invalid(fldPath.Child("nameservers"), cfg.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, validation.IsValidIP(fldPath.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.Searches) > maxDNSSearchPaths {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	if len(strings.Join(cfg.Searches, " ")) > maxDNSSearchListChars {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, search := range cfg.Searches {
		if search == "." {
			continue
		}
		search = strings.TrimSuffix(search, ".")
		for _, msg := range validation.IsDNS1123SubdomainWithUnderscore(search) {
			errs = append(errs, field.Invalid(fldPath.Child("searches").Index(i), search, msg))
		}
	}
	for i, opt := range cfg.Options {
		if opt.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

func validateSchedulingGates(gates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, gate := range gates {
		errs = append(errs, validateQualifiedName(gate.Name, fldPath.Index(i))...)
		if seen.Has(gate.Name) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), gate.Name))
		}
		seen.Insert(gate.Name)
	}
	return errs
}

// sysctlName is what a sysctl may be called: dot- or slash-separated segments.
var sysctlName = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

// maxSysctlName is the longest a sysctl's name may be.
const maxSysctlName = 253

// validateSysctls checks the pod's sysctls: valid and unique names, and none of the
// network (or IPC) namespace in a pod that shares the host's.
func validateSysctls(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, s := range spec.SecurityContext.Sysctls {
		p := fldPath.Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p, ""))
		case len(s.Name) > maxSysctlName || !sysctlName.MatchString(s.Name):
			errs = append(errs, field.Invalid(p, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", maxSysctlName, sysctlName)))
		case seen.Has(s.Name):
			errs = append(errs, field.Duplicate(p, s.Name))
		}
		seen.Insert(s.Name)
		name := strings.ReplaceAll(s.Name, "/", ".")
		switch {
		case spec.HostNetwork && strings.HasPrefix(name, "net."):
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostNetwork' is true"))
		case spec.HostIPC && (strings.HasPrefix(name, "kernel.shm") || strings.HasPrefix(name, "kernel.msg") || name == "kernel.sem" || strings.HasPrefix(name, "fs.mqueue.")):
			errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostIPC' is true"))
		}
	}
	return errs
}

// validateHostNetworkPorts requires host-network pods to publish each container port
// on the same host port. In a template the host port may also be 0: the pods' own
// defaulting sets it.
func validateHostNetworkPorts(spec *corev1.PodSpec, template bool, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for i, c := range spec.Containers {
		for j, port := range c.Ports {
			if port.HostPort != port.ContainerPort && (!template || port.HostPort != 0) {
				p := fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort")
				errs = append(errs, field.Invalid(p, port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			errs = append(errs, field.NotSupported(p.Child("effect"), t.Effect, []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}))
		}
	}
	return errs
}

func validatePodResourceClaims(claims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range claims {
		p := fldPath.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case seen.Has(c.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			errs = append(errs, validateDNSLabel(c.Name, p.Child("name"))...)
			seen.Insert(c.Name)
		}
		switch {
		case c.ResourceClaimName != nil && c.ResourceClaimTemplateName != nil:
			errs = append(errs, field.Invalid(p, c, "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"))
		case c.ResourceClaimName == nil && c.ResourceClaimTemplateName == nil:
			errs = append(errs, field.Invalid(p, c, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
		}
	}
	return errs
}

// validateUpdate checks a write of a whole pod over old, as upstream's
// ValidatePodUpdate does: the new pod must be valid, and its spec may differ from
// the old one only in container images, a shorter active deadline, added
// tolerations, removed scheduling gates, and a negative grace period raised to 1.
func validateUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	errs := validatePod(newPod, updateOptions(oldPod))
	errs = append(errs, validateAnnotationUpdates(newPod, oldPod, field.NewPath("metadata", "annotations"))...)

	specPath := field.NewPath("spec")
	newSpec, oldSpec := &newPod.Spec, &oldPod.Spec
	for _, pair := range []struct {
		name     string
		new, old []corev1.Container
	}{
		{"containers", newSpec.Containers, oldSpec.Containers},
		{"initContainers", newSpec.InitContainers, oldSpec.InitContainers},
	} {
		p := specPath.Child(pair.name)
		if len(pair.new) != len(pair.old) {
			return append(errs, field.Forbidden(p, "pod updates may not add or remove containers"))
		}
	}

	deadlinePath := specPath.Child("activeDeadlineSeconds")
	switch {
	case newSpec.ActiveDeadlineSeconds != nil:
		v := *newSpec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(errs, field.Invalid(deadlinePath, v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if oldSpec.ActiveDeadlineSeconds != nil && *oldSpec.ActiveDeadlineSeconds < v {
			return append(errs, field.Invalid(deadlinePath, v, "must be less than or equal to previous value"))
		}
	case oldSpec.ActiveDeadlineSeconds != nil:
		errs = append(errs, field.Invalid(deadlinePath, newSpec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, validateOnlyAddedTolerations(newSpec.Tolerations, oldSpec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyRemovedGates(newSpec.SchedulingGates, oldSpec.SchedulingGates, specPath.Child("schedulingGates"))...)

	if equality.Semantic.DeepEqual(newSpec, oldSpec) {
		return errs
	}
	// Undo the allowed changes, then anything left over is forbidden.
	munged := newSpec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = oldSpec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = oldSpec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = oldSpec.ActiveDeadlineSeconds
	munged.SchedulingGates = oldSpec.SchedulingGates
	munged.Tolerations = oldSpec.Tolerations
	if g := oldSpec.TerminationGracePeriodSeconds; g != nil && *g < 0 && munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = g
	}
	if !equality.Semantic.DeepEqual(munged, oldSpec) {
		diff := cmp.Diff(*oldSpec, *munged)
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatableSpecFields, ","), diff)))
	}
	return errs
}

// validateEphemeralContainersUpdate checks a write through the ephemeralcontainers
// subresource: a valid pod whose ephemeral containers were only added to.
func validateEphemeralContainersUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	opts := updateOptions(oldPod)
	opts.allowInvalidDeletionCost = true
	errs := validatePod(newPod, opts)
	specPath := field.NewPath("spec", "ephemeralContainers")
	current := map[string]*corev1.EphemeralContainer{}
	for i := range newPod.Spec.EphemeralContainers {
		current[newPod.Spec.EphemeralContainers[i].Name] = &newPod.Spec.EphemeralContainers[i]
	}
	for _, old := range oldPod.Spec.EphemeralContainers {
		ec, ok := current[old.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", old.Name)))
		case !equality.Semantic.DeepEqual(old, *ec):
			errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", old.Name, cmp.Diff(old, *ec))))
		}
	}
	return errs
}

// validateOnlyAddedTolerations requires every old toleration to survive, with only
// its tolerationSeconds changed at most.
func validateOnlyAddedTolerations(newTolerations, oldTolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, old := range oldTolerations {
		found := false
		for _, t := range newTolerations {
			candidate := old
			candidate.TolerationSeconds = t.TolerationSeconds
			if equality.Semantic.DeepEqual(candidate, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(newTolerations, fldPath)
}

func validateOnlyRemovedGates(newGates, oldGates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	old := sets.New[string]()
	for _, g := range oldGates {
		old.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range newGates {
		if !old.Has(g.Name) {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// validateStatusUpdate checks a write through the status subresource, as upstream's
// ValidatePodStatusUpdate does, plus that the phase is one upstream defines.
func validateStatusUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	annotations := field.NewPath("metadata", "annotations")
	opts := updateOptions(oldPod)
	errs := validateAnnotationUpdates(newPod, oldPod, annotations)
	errs = append(errs, validatePodAnnotations(newPod.Annotations, &newPod.Spec, annotations, opts)...)
	// Upstream reports condition types under metadata.conditions; kept for parity.
	errs = append(errs, validatePodConditions(newPod.Status.Conditions, field.NewPath("metadata", "conditions"))...)

	statusPath := field.NewPath("status")
	st, oldSt := &newPod.Status, &oldPod.Status
	if newPod.Spec.NodeName != oldPod.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if st.NominatedNodeName != oldSt.NominatedNodeName && st.NominatedNodeName != "" {
		errs = append(errs, validateDNSSubdomain(st.NominatedNodeName, statusPath.Child("nominatedNodeName"))...)
	}
	if st.Phase != "" && !slices.Contains(supportedPhases, st.Phase) {
		errs = append(errs, field.NotSupported(statusPath.Child("phase"), st.Phase, supportedPhases))
	}
	errs = append(errs, apivalidation.ValidateImmutableField(st.QOSClass, oldSt.QOSClass, statusPath.Child("qosClass"))...)

	restartable := func(name string) bool {
		for i := range oldPod.Spec.InitContainers {
			if oldPod.Spec.InitContainers[i].Name == name {
				return isSidecar(&oldPod.Spec.InitContainers[i])
			}
		}
		return false
	}
	never := func(string) bool { return false }
	errs = append(errs, validateStateTransitions(st.ContainerStatuses, oldSt.ContainerStatuses, oldPod.Spec.RestartPolicy, never, statusPath.Child("containerStatuses"))...)
	errs = append(errs, validateStateTransitions(st.InitContainerStatuses, oldSt.InitContainerStatuses, oldPod.Spec.RestartPolicy, restartable, statusPath.Child("initContainerStatuses"))...)
	// The kubelet never restarts ephemeral containers.
	errs = append(errs, validateStateTransitions(st.EphemeralContainerStatuses, oldSt.EphemeralContainerStatuses, corev1.RestartPolicyNever, never, statusPath.Child("ephemeralContainerStatuses"))...)
	errs = append(errs, validatePodIPs(st)...)
	errs = append(errs, validateHostIPs(st)...)
	return errs
}

// validatePodConditions requires custom condition types to be qualified names; the
// three system types are exempt.
func validatePodConditions(conditions []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		errs = append(errs, validateQualifiedName(string(c.Type), fldPath.Index(i).Child("Type"))...)
	}
	return errs
}

// validateStateTransitions forbids bringing a terminated container back to life
// when the pod's restart policy (or the container being a sidecar) does not allow
// that container to restart.
func validateStateTransitions(newStatuses, oldStatuses []corev1.ContainerStatus, policy corev1.RestartPolicy, mayRestart func(string) bool, fldPath *field.Path) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, old := range oldStatuses {
		term := old.State.Terminated
		if term == nil || (term.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure) || mayRestart(old.Name) {
			continue
		}
		for _, st := range newStatuses {
			if st.Name == old.Name && st.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

func validatePodIPs(st *corev1.PodStatus) field.ErrorList {
	fldPath := field.NewPath("status", "podIPs")
	var errs field.ErrorList
	ips := make([]string, 0, len(st.PodIPs))
	for i, ip := range st.PodIPs {
		errs = append(errs, validation.IsValidIP(fldPath.Index(i), ip.IP)...)
		ips = append(ips, ip.IP)
	}
	return append(errs, validateIPFamilies(ips, st.PodIPs, fldPath)...)
}

func validateHostIPs(st *corev1.PodStatus) field.ErrorList {
	if len(st.HostIPs) == 0 {
		return nil
	}
	fldPath := field.NewPath("status", "hostIPs")
	var errs field.ErrorList
	if st.HostIP != st.HostIPs[0].IP {
		errs = append(errs, field.Invalid(fldPath.Index(0).Child("ip"), st.HostIPs[0].IP, "must be equal to `hostIP`"))
	}
	ips := make([]string, 0, len(st.HostIPs))
	for i, ip := range st.HostIPs {
		errs = append(errs, validation.IsValidIP(fldPath.Index(i), ip.IP)...)
		ips = append(ips, ip.IP)
	}
	return append(errs, validateIPFamilies(ips, st.HostIPs, fldPath)...)
}

// validateIPFamilies allows at most one address of each family, without repeats.
func validateIPFamilies[T any](ips []string, entries []T, fldPath *field.Path) field.ErrorList {
	if len(ips) < 2 {
		return nil
	}
	var errs field.ErrorList
	dual, err := utilnet.IsDualStackIPStrings(ips)
	if err != nil {
		errs = append(errs, field.InternalError(fldPath, fmt.Errorf("failed to check for dual stack with error:%v", err)))
	}
	if !dual || len(ips) > 2 {
		errs = append(errs, field.Invalid(fldPath, entries, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), entries[i]))
		}
		seen.Insert(ip)
	}
	return errs
}

// validateBinding checks a binding's target: a node, named.
func validateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}
