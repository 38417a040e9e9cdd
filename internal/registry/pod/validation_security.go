package pod

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream's checks of security contexts, of the pod and of each container, and of
// the deprecated seccomp and AppArmor annotations. Privileged containers are always
// allowed: podium has no cluster policy against them. Windows options are only
// refused for a Linux pod; their contents are not checked.

const (
	sysAdminCapability = "CAP_SYS_ADMIN"

	// maxAppArmorProfileLength is PATH_MAX less the terminating NUL.
	maxAppArmorProfileLength = 4095
)

var (
	supportedFSGroupChangePolicies      = sets.New(corev1.FSGroupChangeOnRootMismatch, corev1.FSGroupChangeAlways)
	supportedSupplementalGroupsPolicies = sets.New(corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict)
	supportedSELinuxChangePolicies      = sets.New(corev1.SELinuxChangePolicyRecursive, corev1.SELinuxChangePolicyMountOption)
	supportedProcMountTypes             = []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}
	supportedSeccompProfileTypes        = []corev1.SeccompProfileType{corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}
	supportedAppArmorProfileTypes       = []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}
)

// validateRunAs checks the user and group a pod or container runs as.
func validateRunAs(user, group *int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if user != nil {
		for _, msg := range validation.IsValidUserID(*user) {
			errs = append(errs, field.Invalid(fldPath.Child("runAsUser"), *user, msg))
		}
	}
	if group != nil {
		for _, msg := range validation.IsValidGroupID(*group) {
			errs = append(errs, field.Invalid(fldPath.Child("runAsGroup"), *group, msg))
		}
	}
	return errs
}

// validatePodSecurityContext checks the pod's security context, except its sysctls
// (see validateSysctls).
func validatePodSecurityContext(sc *corev1.PodSecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.FSGroup != nil {
		for _, msg := range validation.IsValidGroupID(*sc.FSGroup) {
			errs = append(errs, field.Invalid(fldPath.Child("fsGroup"), *sc.FSGroup, msg))
		}
	}
	errs = append(errs, validateRunAs(sc.RunAsUser, sc.RunAsGroup, fldPath)...)
	for i, gid := range sc.SupplementalGroups {
		for _, msg := range validation.IsValidGroupID(gid) {
			errs = append(errs, field.Invalid(fldPath.Child("supplementalGroups").Index(i), gid, msg))
		}
	}
	if p := sc.FSGroupChangePolicy; p != nil && !supportedFSGroupChangePolicies.Has(*p) {
		errs = append(errs, field.NotSupported(fldPath.Child("fsGroupChangePolicy"), *p, sets.List(supportedFSGroupChangePolicies)))
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	if p := sc.SupplementalGroupsPolicy; p != nil && !supportedSupplementalGroupsPolicies.Has(*p) {
		errs = append(errs, field.NotSupported(fldPath.Child("supplementalGroupsPolicy"), *p, sets.List(supportedSupplementalGroupsPolicies)))
	}
	if p := sc.SELinuxChangePolicy; p != nil && !supportedSELinuxChangePolicies.Has(*p) {
		errs = append(errs, field.NotSupported(fldPath.Child("seLinuxChangePolicy"), *p, sets.List(supportedSELinuxChangePolicies)))
	}
	return errs
}

// validateSecurityContext checks a container's security context: user and group
// IDs, the proc mount (Unmasked needs a user namespace), the seccomp and AppArmor
// profiles, and that allowPrivilegeEscalation=false comes with neither privileged
// nor CAP_SYS_ADMIN (the latter unless ctx allows it).
func validateSecurityContext(sc *corev1.SecurityContext, ctx containerContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	errs = append(errs, validateRunAs(sc.RunAsUser, sc.RunAsGroup, fldPath)...)
	if pm := sc.ProcMount; pm != nil {
		switch *pm {
		case corev1.DefaultProcMount:
		case corev1.UnmaskedProcMount:
			if ctx.hostUsers {
				errs = append(errs, field.Invalid(fldPath.Child("procMount"), *pm, "`hostUsers` must be false to use `Unmasked`"))
			}
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("procMount"), *pm, supportedProcMountTypes))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if !ctx.allowSysAdminWithoutEscalation && sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == sysAdminCapability {
					errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	return append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
}

// validateSeccompProfile checks a seccomp profile: a known type, and a local
// descending path exactly when the type is Localhost.
func validateSeccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), sp.Type, supportedSeccompProfileTypes))
	}
	lp := fldPath.Child("localhostProfile")
	switch {
	case sp.Type == corev1.SeccompProfileTypeLocalhost && sp.LocalhostProfile == nil:
		errs = append(errs, field.Required(lp, "must be set when seccomp type is Localhost"))
	case sp.Type == corev1.SeccompProfileTypeLocalhost:
		errs = append(errs, validateLocalDescendingPath(*sp.LocalhostProfile, lp)...)
	case sp.LocalhostProfile != nil:
		errs = append(errs, field.Invalid(lp, sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

// validateAppArmorProfile checks an AppArmor profile: a known type, and a profile
// name, unpadded and at most PATH_MAX-1 long, exactly when the type is Localhost.
func validateAppArmorProfile(p *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	lp := fldPath.Child("localhostProfile")
	switch p.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		if p.LocalhostProfile == nil {
			return field.ErrorList{field.Required(lp, "must be set when AppArmor type is Localhost")}
		}
		name := *p.LocalhostProfile
		switch {
		case strings.TrimSpace(name) != name:
			errs = append(errs, field.Invalid(lp, name, "must not be padded with whitespace"))
		case name == "":
			errs = append(errs, field.Required(lp, "must be set when AppArmor type is Localhost"))
		}
		if len(name) > maxAppArmorProfileLength {
			errs = append(errs, field.TooLong(lp, "", maxAppArmorProfileLength))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(lp, *p.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), p.Type, supportedAppArmorProfileTypes))
	}
	return errs
}

// validateNoWindowsOptions refuses Windows options, of the pod or of any container,
// in a pod whose OS is Linux.
func validateNoWindowsOptions(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	const msg = "windows options cannot be set for a linux pod"
	var errs field.ErrorList
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("securityContext", "windowsOptions"), msg))
	}
	for p, c := range podContainers(spec, fldPath) {
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			errs = append(errs, field.Forbidden(p.Child("securityContext", "windowsOptions"), msg))
		}
	}
	return errs
}

// validateSecurityAnnotations checks the deprecated seccomp annotations (a profile
// the field could also name) and AppArmor annotations (an existing container, and a
// profile name the kubelet understood). As upstream, seccomp annotations are reported
// at a child of fldPath named by the key, AppArmor annotations at a subscript.
func validateSecurityAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for key, value := range annotations {
		switch {
		case key == corev1.SeccompPodAnnotationKey, strings.HasPrefix(key, corev1.SeccompContainerAnnotationKeyPrefix):
			errs = append(errs, validateSeccompAnnotation(value, fldPath.Child(key))...)
		case strings.HasPrefix(key, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix):
			name := strings.TrimPrefix(key, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix)
			if !hasContainer(spec, name) {
				errs = append(errs, field.Invalid(fldPath.Key(key), name, "container not found"))
			}
			if !validAppArmorAnnotation(value) {
				errs = append(errs, field.Invalid(fldPath.Key(key), value, fmt.Sprintf("invalid AppArmor profile name: %q", value)))
			}
		}
	}
	return errs
}

func validateSeccompAnnotation(value string, fldPath *field.Path) field.ErrorList {
	switch value {
	case corev1.SeccompProfileRuntimeDefault, corev1.DeprecatedSeccompProfileDockerDefault, corev1.SeccompProfileNameUnconfined:
		return nil
	}
	if name, ok := strings.CutPrefix(value, corev1.SeccompLocalhostProfileNamePrefix); ok {
		return validateLocalDescendingPath(name, fldPath)
	}
	return field.ErrorList{field.Invalid(fldPath, value, "must be a valid seccomp profile")}
}

// validAppArmorAnnotation reports whether value is empty, one of the two built-in
// profiles, or a localhost profile.
func validAppArmorAnnotation(value string) bool {
	switch value {
	case "", corev1.DeprecatedAppArmorBetaProfileRuntimeDefault, corev1.DeprecatedAppArmorBetaProfileNameUnconfined:
		return true
	}
	return strings.HasPrefix(value, corev1.DeprecatedAppArmorBetaProfileNamePrefix)
}

// validateSecurityAnnotationsMatchFields requires each deprecated seccomp or AppArmor
// annotation to agree with the field that replaced it, where both are set. A
// container's AppArmor field falls back to the pod's; its seccomp field does not.
// Upstream checks this on create (and for templates) only, and not for AppArmor in
// Windows pods.
func validateSecurityAnnotationsMatchFields(meta *metav1.ObjectMeta, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	var podSeccomp *corev1.SeccompProfile
	var podAppArmor *corev1.AppArmorProfile
	if sc := spec.SecurityContext; sc != nil {
		podSeccomp, podAppArmor = sc.SeccompProfile, sc.AppArmorProfile
	}
	if value, ok := meta.Annotations[corev1.SeccompPodAnnotationKey]; ok && podSeccomp != nil {
		errs = append(errs, seccompMismatch(value, podSeccomp, specPath.Child("securityContext", "seccompProfile"))...)
	}
	windows := spec.OS != nil && spec.OS.Name == corev1.Windows
	for p, c := range podContainers(spec, specPath) {
		seccomp, appArmor := (*corev1.SeccompProfile)(nil), podAppArmor
		if c.SecurityContext != nil {
			seccomp = c.SecurityContext.SeccompProfile
			if c.SecurityContext.AppArmorProfile != nil {
				appArmor = c.SecurityContext.AppArmorProfile
			}
		}
		if value, ok := meta.Annotations[corev1.SeccompContainerAnnotationKeyPrefix+c.Name]; ok && seccomp != nil {
			errs = append(errs, seccompMismatch(value, seccomp, p.Child("securityContext", "seccompProfile"))...)
		}
		if value, ok := meta.Annotations[corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+c.Name]; ok && appArmor != nil && !windows {
			errs = append(errs, appArmorMismatch(value, appArmor, p.Child("securityContext", "appArmorProfile"))...)
		}
	}
	return errs
}

func seccompMismatch(annotation string, sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	defaults := []string{corev1.SeccompProfileRuntimeDefault, corev1.DeprecatedSeccompProfileDockerDefault}
	return profileMismatch("seccomp", annotation, string(sp.Type), sp.LocalhostProfile, defaults, fldPath)
}

func appArmorMismatch(annotation string, p *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	defaults := []string{corev1.DeprecatedAppArmorBetaProfileRuntimeDefault}
	return profileMismatch("apparmor", annotation, string(p.Type), p.LocalhostProfile, defaults, fldPath)
}

// profileMismatch compares a seccomp or AppArmor profile with the annotation value
// for it: the type, and for Localhost the name. The two kinds spell their types and
// annotation values alike, except for defaults, the values that mean RuntimeDefault.
func profileMismatch(kind, annotation, profileType string, localhost *string, defaults []string, fldPath *field.Path) field.ErrorList {
	typeMismatch := field.ErrorList{field.Forbidden(fldPath.Child("type"), kind+" type in annotation and field must match")}
	switch profileType {
	case string(corev1.SeccompProfileTypeUnconfined):
		if annotation != corev1.SeccompProfileNameUnconfined {
			return typeMismatch
		}
	case string(corev1.SeccompProfileTypeRuntimeDefault):
		if !slices.Contains(defaults, annotation) {
			return typeMismatch
		}
	case string(corev1.SeccompProfileTypeLocalhost):
		name, ok := strings.CutPrefix(annotation, corev1.SeccompLocalhostProfileNamePrefix)
		if !ok {
			return typeMismatch
		}
		if localhost == nil || *localhost != name {
			return field.ErrorList{field.Forbidden(fldPath.Child("localhostProfile"), kind+" profile in annotation and field must match")}
		}
	}
	return nil
}

// podContainers yields each container of spec with its path, in upstream's order:
// init containers, containers, then ephemeral containers.
func podContainers(spec *corev1.PodSpec, specPath *field.Path) iter.Seq2[*field.Path, *corev1.Container] {
	return func(yield func(*field.Path, *corev1.Container) bool) {
		for i := range spec.InitContainers {
			if !yield(specPath.Child("initContainers").Index(i), &spec.InitContainers[i]) {
				return
			}
		}
		for i := range spec.Containers {
			if !yield(specPath.Child("containers").Index(i), &spec.Containers[i]) {
				return
			}
		}
		for i := range spec.EphemeralContainers {
			c := (*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon)
			if !yield(specPath.Child("ephemeralContainers").Index(i), c) {
				return
			}
		}
	}
}

func hasContainer(spec *corev1.PodSpec, name string) bool {
	for _, c := range podContainers(spec, nil) {
		if c.Name == name {
			return true
		}
	}
	return false
}

// hasSysAdminWithoutEscalation reports whether a container of spec adds
// CAP_SYS_ADMIN without allowing privilege escalation explicitly.
func hasSysAdminWithoutEscalation(spec *corev1.PodSpec) bool {
	for _, c := range podContainers(spec, nil) {
		sc := c.SecurityContext
		if sc == nil || sc.Capabilities == nil || (sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation) {
			continue
		}
		if slices.Contains(sc.Capabilities.Add, sysAdminCapability) {
			return true
		}
	}
	return false
}
