package pod

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

const (
	seccompPodKey      = "seccomp.security.alpha.kubernetes.io/pod"
	seccompAppKey      = "container.seccomp.security.alpha.kubernetes.io/app"
	appArmorAppKey     = "container.apparmor.security.beta.kubernetes.io/app"
	podSC              = "spec.securityContext"
	appSC              = "spec.containers[0].securityContext"
	windowsOnLinuxMsg  = "Forbidden: windows options cannot be set for a linux pod"
	seccompTypeMsg     = "Forbidden: seccomp type in annotation and field must match"
	appArmorTypeMsg    = "Forbidden: apparmor type in annotation and field must match"
	appArmorProfileMsg = "Forbidden: apparmor profile in annotation and field must match"
)

// podSecurity sets the pod's security context.
func podSecurity(p *corev1.Pod, sc corev1.PodSecurityContext) { p.Spec.SecurityContext = &sc }

// appSecurity sets the security context of the pod's first container.
func appSecurity(p *corev1.Pod, sc corev1.SecurityContext) {
	p.Spec.Containers[0].SecurityContext = &sc
}

func seccomp(t corev1.SeccompProfileType, localhost ...string) *corev1.SeccompProfile {
	sp := &corev1.SeccompProfile{Type: t}
	if len(localhost) > 0 {
		sp.LocalhostProfile = &localhost[0]
	}
	return sp
}

func appArmor(t corev1.AppArmorProfileType, localhost ...string) *corev1.AppArmorProfile {
	p := &corev1.AppArmorProfile{Type: t}
	if len(localhost) > 0 {
		p.LocalhostProfile = &localhost[0]
	}
	return p
}

func TestValidatePodSecurityContext(t *testing.T) {
	tests := []struct {
		name string
		sc   corev1.PodSecurityContext
		want []string
	}{
		{name: "every field", sc: corev1.PodSecurityContext{
			RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000),
			SupplementalGroups:       []int64{3000},
			FSGroupChangePolicy:      ptr.To(corev1.FSGroupChangeOnRootMismatch),
			SupplementalGroupsPolicy: ptr.To(corev1.SupplementalGroupsPolicyStrict),
			SELinuxChangePolicy:      ptr.To(corev1.SELinuxChangePolicyMountOption),
			SELinuxOptions:           &corev1.SELinuxOptions{User: "user", Role: "role", Type: "type", Level: "level"},
			SeccompProfile:           seccomp(corev1.SeccompProfileTypeLocalhost, "profiles/audit.json"),
			AppArmorProfile:          appArmor(corev1.AppArmorProfileTypeLocalhost, "k8s-apparmor-example-deny-write"),
		}},
		{name: "runtime default profiles", sc: corev1.PodSecurityContext{
			SeccompProfile:  seccomp(corev1.SeccompProfileTypeRuntimeDefault),
			AppArmorProfile: appArmor(corev1.AppArmorProfileTypeUnconfined),
		}},
		{name: "IDs out of range", sc: corev1.PodSecurityContext{
			RunAsUser: ptr.To[int64](-1), RunAsGroup: ptr.To[int64](1 << 31), FSGroup: ptr.To[int64](-1), SupplementalGroups: []int64{1234, 1 << 31},
		}, want: []string{
			podSC + ".runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
			podSC + ".runAsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive",
			podSC + ".fsGroup: Invalid value: -1: must be between 0 and 2147483647, inclusive",
			podSC + ".supplementalGroups[1]: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive",
		}},
		{name: "empty fsGroupChangePolicy", sc: corev1.PodSecurityContext{FSGroupChangePolicy: ptr.To(corev1.PodFSGroupChangePolicy(""))},
			want: []string{podSC + `.fsGroupChangePolicy: Unsupported value: "": supported values: "Always", "OnRootMismatch"`}},
		{name: "unknown fsGroupChangePolicy", sc: corev1.PodSecurityContext{FSGroupChangePolicy: ptr.To(corev1.PodFSGroupChangePolicy("invalid"))},
			want: []string{podSC + `.fsGroupChangePolicy: Unsupported value: "invalid": supported values: "Always", "OnRootMismatch"`}},
		{name: "empty supplementalGroupsPolicy", sc: corev1.PodSecurityContext{SupplementalGroupsPolicy: ptr.To(corev1.SupplementalGroupsPolicy(""))},
			want: []string{podSC + `.supplementalGroupsPolicy: Unsupported value: "": supported values: "Merge", "Strict"`}},
		{name: "unknown seLinuxChangePolicy", sc: corev1.PodSecurityContext{SELinuxChangePolicy: ptr.To(corev1.PodSELinuxChangePolicy("InvalidValue"))},
			want: []string{podSC + `.seLinuxChangePolicy: Unsupported value: "InvalidValue": supported values: "MountOption", "Recursive"`}},
		{name: "seccomp without type", sc: corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{}},
			want: []string{podSC + ".seccompProfile.type: Required value: type is required when seccompProfile is set"}},
		{name: "unknown seccomp type", sc: corev1.PodSecurityContext{SeccompProfile: seccomp("Strict")},
			want: []string{podSC + `.seccompProfile.type: Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"`}},
		{name: "localhost seccomp without profile", sc: corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeLocalhost)},
			want: []string{podSC + ".seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost"}},
		{name: "absolute localhost seccomp profile", sc: corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeLocalhost, "/etc/profile.json")},
			want: []string{podSC + `.seccompProfile.localhostProfile: Invalid value: "/etc/profile.json": must be a relative path`}},
		{name: "localhost seccomp profile out of the profile directory", sc: corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeLocalhost, "../profile.json")},
			want: []string{podSC + `.seccompProfile.localhostProfile: Invalid value: "../profile.json": must not contain '..'`}},
		{name: "localhost seccomp profile with another type", sc: corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeRuntimeDefault, "profile.json")},
			want: []string{field.Invalid(field.NewPath("spec", "securityContext", "seccompProfile", "localhostProfile"),
				seccomp(corev1.SeccompProfileTypeRuntimeDefault, "profile.json"), "can only be set when seccomp type is Localhost").Error()}},
		{name: "unknown AppArmor type", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor("test")},
			want: []string{podSC + `.appArmorProfile.type: Unsupported value: "test": supported values: "Localhost", "RuntimeDefault", "Unconfined"`}},
		{name: "AppArmor without type", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor("")},
			want: []string{podSC + ".appArmorProfile.type: Required value: type is required when appArmorProfile is set"}},
		{name: "localhost AppArmor without profile", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost)},
			want: []string{podSC + ".appArmorProfile.localhostProfile: Required value: must be set when AppArmor type is Localhost"}},
		{name: "localhost AppArmor with an empty profile", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost, "")},
			want: []string{podSC + ".appArmorProfile.localhostProfile: Required value: must be set when AppArmor type is Localhost"}},
		{name: "padded localhost AppArmor profile", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost, "foo-bar ")},
			want: []string{podSC + `.appArmorProfile.localhostProfile: Invalid value: "foo-bar ": must not be padded with whitespace`}},
		{name: "too long localhost AppArmor profile", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost, strings.Repeat("a", 4096))},
			want: []string{podSC + ".appArmorProfile.localhostProfile: Too long: may not be more than 4095 bytes"}},
		{name: "longest localhost AppArmor profile", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost, strings.Repeat("a", 4095))}},
		{name: "localhost AppArmor profile with another type", sc: corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeRuntimeDefault, "foo-bar")},
			want: []string{podSC + `.appArmorProfile.localhostProfile: Invalid value: "foo-bar": can only be set when AppArmor type is Localhost`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			podSecurity(pod, tt.sc)
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

func TestValidateContainerSecurityContext(t *testing.T) {
	privilegedWithoutEscalation := corev1.SecurityContext{Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false)}
	sysAdminWithoutEscalation := corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "CAP_SYS_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
	}
	scPath := field.NewPath("spec", "containers").Index(0).Child("securityContext")
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"every field", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{
				Privileged:     ptr.To(false),
				Capabilities:   &corev1.Capabilities{Add: []corev1.Capability{"foo"}, Drop: []corev1.Capability{"bar"}},
				SELinuxOptions: &corev1.SELinuxOptions{User: "user", Role: "role", Type: "type", Level: "level"},
				RunAsUser:      ptr.To[int64](1), RunAsGroup: ptr.To[int64](1), RunAsNonRoot: ptr.To(true),
				ReadOnlyRootFilesystem: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
				ProcMount:       ptr.To(corev1.DefaultProcMount),
				SeccompProfile:  seccomp(corev1.SeccompProfileTypeUnconfined),
				AppArmorProfile: appArmor(corev1.AppArmorProfileTypeRuntimeDefault),
			})
		}, nil},
		{"privileged", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(true)})
		}, nil},
		{"IDs out of range", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{RunAsUser: ptr.To[int64](-1), RunAsGroup: ptr.To[int64](1 << 31)})
		}, []string{
			appSC + ".runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
			appSC + ".runAsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive",
		}},
		{"unmasked proc mount in the host's user namespace", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount)})
		}, []string{appSC + ".procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`"}},
		{"unmasked proc mount in a user namespace", func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr.To(false)
			appSecurity(p, corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount)})
		}, nil},
		{"unknown proc mount", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{ProcMount: ptr.To(corev1.ProcMountType("Masked"))})
		}, []string{appSC + `.procMount: Unsupported value: "Masked": supported values: "Default", "Unmasked"`}},
		{"privileged without privilege escalation", func(p *corev1.Pod) { appSecurity(p, privilegedWithoutEscalation) },
			[]string{field.Invalid(scPath, &privilegedWithoutEscalation, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true").Error()}},
		{"CAP_SYS_ADMIN without privilege escalation", func(p *corev1.Pod) { appSecurity(p, sysAdminWithoutEscalation) },
			[]string{field.Invalid(scPath, &sysAdminWithoutEscalation, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN").Error()}},
		{"SYS_ADMIN without privilege escalation", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}})
		}, nil},
		{"CAP_SYS_ADMIN with privilege escalation unset", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CAP_SYS_ADMIN"}}})
		}, nil},
		{"profiles of an init container", func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Name = "init"
			c.SecurityContext = &corev1.SecurityContext{SeccompProfile: seccomp(""), AppArmorProfile: appArmor("test")}
			p.Spec.InitContainers = []corev1.Container{c}
		}, []string{
			"spec.initContainers[0].securityContext.seccompProfile.type: Required value: type is required when seccompProfile is set",
			`spec.initContainers[0].securityContext.appArmorProfile.type: Unsupported value: "test": supported values: "Localhost", "RuntimeDefault", "Unconfined"`,
		}},
		{"windows options in a linux pod", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Linux}
			podSecurity(p, corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To("myUser")}})
			appSecurity(p, corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To("myUser")}})
		}, []string{
			podSC + ".windowsOptions: " + windowsOnLinuxMsg,
			appSC + ".windowsOptions: " + windowsOnLinuxMsg,
		}},
		{"windows options without an OS", func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To("myUser")}})
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			tt.mutate(pod)
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

// TestValidateEphemeralContainerSecurityContext: a debug container added through the
// ephemeralcontainers subresource has its security context checked too.
func TestValidateEphemeralContainerSecurityContext(t *testing.T) {
	s := New()
	sw := s.(registry.SubresourceWriter)
	stored := validPod()
	in := stored.DeepCopy()
	in.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "busybox",
		SecurityContext: &corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount), RunAsUser: ptr.To[int64](-1)},
	}}}
	sw.PrepareForSubresourceUpdate("ephemeralcontainers", in, stored)
	s.Default(in)
	checkErrors(t, sw.ValidateSubresourceUpdate("ephemeralcontainers", in, stored), []string{
		"spec.ephemeralContainers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
		"spec.ephemeralContainers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`",
	})
}

func TestValidateSecurityAnnotations(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		mutate      func(p *corev1.Pod)
		want        []string
	}{
		{name: "valid seccomp annotations", annotations: map[string]string{
			seccompPodKey: "runtime/default",
			seccompAppKey: "localhost/profiles/audit.json",
			"container.seccomp.security.alpha.kubernetes.io/other": "docker/default",
			"container.seccomp.security.alpha.kubernetes.io/third": "unconfined",
		}},
		{name: "invalid seccomp annotations", annotations: map[string]string{
			seccompPodKey: "foo",
			seccompAppKey: "",
		}, want: []string{
			`metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: Invalid value: "foo": must be a valid seccomp profile`,
			`metadata.annotations.container.seccomp.security.alpha.kubernetes.io/app: Invalid value: "": must be a valid seccomp profile`,
		}},
		{name: "absolute localhost seccomp annotation", annotations: map[string]string{seccompPodKey: "localhost//foo"},
			want: []string{`metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: Invalid value: "/foo": must be a relative path`}},
		{name: "seccomp annotation out of the profile directory", annotations: map[string]string{seccompPodKey: "localhost/../foo"},
			want: []string{`metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: Invalid value: "../foo": must not contain '..'`}},
		{name: "valid AppArmor annotations", annotations: map[string]string{
			appArmorAppKey: "runtime/default",
			"container.apparmor.security.beta.kubernetes.io/init": "localhost/k8s-deny-write",
		}, mutate: func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Name = "init"
			p.Spec.InitContainers = []corev1.Container{c}
		}},
		{name: "AppArmor annotation for no container", annotations: map[string]string{
			appArmorAppKey: "unconfined",
			"container.apparmor.security.beta.kubernetes.io/fake-ctr": "runtime/default",
		}, want: []string{`metadata.annotations[container.apparmor.security.beta.kubernetes.io/fake-ctr]: Invalid value: "fake-ctr": container not found`}},
		{name: "invalid AppArmor profile names", annotations: map[string]string{
			appArmorAppKey: "bad-name",
			"container.apparmor.security.beta.kubernetes.io/init": "runtime/foo",
		}, mutate: func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Name = "init"
			p.Spec.InitContainers = []corev1.Container{c}
		}, want: []string{
			`metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: Invalid value: "bad-name": invalid AppArmor profile name: "bad-name"`,
			`metadata.annotations[container.apparmor.security.beta.kubernetes.io/init]: Invalid value: "runtime/foo": invalid AppArmor profile name: "runtime/foo"`,
		}},
		{name: "seccomp annotation and field of the pod differ", annotations: map[string]string{seccompPodKey: "unconfined"}, mutate: func(p *corev1.Pod) {
			podSecurity(p, corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeRuntimeDefault)})
		}, want: []string{podSC + ".seccompProfile.type: " + seccompTypeMsg}},
		{name: "seccomp annotation and field of a container differ", annotations: map[string]string{seccompAppKey: "unconfined"}, mutate: func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeRuntimeDefault)})
		}, want: []string{appSC + ".seccompProfile.type: " + seccompTypeMsg}},
		{name: "seccomp annotation against a localhost field", annotations: map[string]string{seccompAppKey: "runtime/default"}, mutate: func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeLocalhost, "test.json")})
		}, want: []string{appSC + ".seccompProfile.type: " + seccompTypeMsg}},
		{name: "seccomp localhost profiles differ", annotations: map[string]string{seccompPodKey: "localhost/test.json"}, mutate: func(p *corev1.Pod) {
			podSecurity(p, corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeLocalhost, "different.json")})
		}, want: []string{podSC + ".seccompProfile.localhostProfile: Forbidden: seccomp profile in annotation and field must match"}},
		{name: "seccomp annotations and fields agree", annotations: map[string]string{seccompPodKey: "docker/default", seccompAppKey: "localhost/test.json"}, mutate: func(p *corev1.Pod) {
			podSecurity(p, corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeRuntimeDefault)})
			appSecurity(p, corev1.SecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeLocalhost, "test.json")})
		}},
		{name: "a container's seccomp annotation is not compared with the pod's field", annotations: map[string]string{seccompAppKey: "unconfined"}, mutate: func(p *corev1.Pod) {
			podSecurity(p, corev1.PodSecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeRuntimeDefault)})
		}},
		{name: "AppArmor annotation and field of a container differ", annotations: map[string]string{appArmorAppKey: "runtime/default"}, mutate: func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeUnconfined)})
		}, want: []string{appSC + ".appArmorProfile.type: " + appArmorTypeMsg}},
		{name: "AppArmor annotation of a container and field of the pod differ", annotations: map[string]string{appArmorAppKey: "runtime/default"}, mutate: func(p *corev1.Pod) {
			podSecurity(p, corev1.PodSecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeUnconfined)})
		}, want: []string{appSC + ".appArmorProfile.type: " + appArmorTypeMsg}},
		{name: "AppArmor localhost profiles differ", annotations: map[string]string{appArmorAppKey: "localhost/foo"}, mutate: func(p *corev1.Pod) {
			appSecurity(p, corev1.SecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost, "bar")})
		}, want: []string{appSC + ".appArmorProfile.localhostProfile: " + appArmorProfileMsg}},
		{name: "AppArmor of a windows pod", annotations: map[string]string{appArmorAppKey: "localhost/foo"}, mutate: func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			appSecurity(p, corev1.SecurityContext{AppArmorProfile: appArmor(corev1.AppArmorProfileTypeLocalhost, "bar")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			pod.Annotations = tt.annotations
			if tt.mutate != nil {
				tt.mutate(pod)
			}
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

// TestValidateSecurityUpdate: annotations and fields are only compared on create,
// AppArmor annotations are frozen, and CAP_SYS_ADMIN without privilege escalation
// stays valid in a pod that already had it.
func TestValidateSecurityUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    func(p *corev1.Pod)
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "stored mismatch of annotation and field",
			old: func(p *corev1.Pod) {
				p.Annotations = map[string]string{appArmorAppKey: "runtime/default", seccompAppKey: "unconfined"}
				appSecurity(p, corev1.SecurityContext{
					AppArmorProfile: appArmor(corev1.AppArmorProfileTypeUnconfined),
					SeccompProfile:  seccomp(corev1.SeccompProfileTypeRuntimeDefault),
				})
			},
			mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }},
		{name: "add an AppArmor annotation",
			mutate: func(p *corev1.Pod) { p.Annotations = map[string]string{appArmorAppKey: "runtime/default"} },
			want:   []string{"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: Forbidden: may not add AppArmor annotations"}},
		{name: "change an AppArmor annotation",
			old:    func(p *corev1.Pod) { p.Annotations = map[string]string{appArmorAppKey: "runtime/default"} },
			mutate: func(p *corev1.Pod) { p.Annotations[appArmorAppKey] = "unconfined" },
			want:   []string{"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: Forbidden: may not remove or update AppArmor annotations"}},
		{name: "remove an AppArmor annotation",
			old: func(p *corev1.Pod) {
				p.Annotations = map[string]string{appArmorAppKey: "runtime/default", "other": "x"}
			},
			mutate: func(p *corev1.Pod) { delete(p.Annotations, appArmorAppKey) },
			want:   []string{"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: Forbidden: may not remove or update AppArmor annotations"}},
		{name: "seccomp annotations may change",
			old:    func(p *corev1.Pod) { p.Annotations = map[string]string{seccompPodKey: "runtime/default"} },
			mutate: func(p *corev1.Pod) { p.Annotations[seccompPodKey] = "unconfined" }},
		{name: "stored CAP_SYS_ADMIN without privilege escalation",
			old: func(p *corev1.Pod) {
				appSecurity(p, corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CAP_SYS_ADMIN"}}})
			},
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.26" }},
		{name: "stored privileged without privilege escalation keeps being reported",
			old: func(p *corev1.Pod) {
				appSecurity(p, corev1.SecurityContext{Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false)})
			},
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.26" },
			want:   []string{appSC + ": Invalid value: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validPod()
			if tt.old != nil {
				tt.old(old)
			}
			pod := old.DeepCopy()
			tt.mutate(pod)
			checkErrors(t, New().ValidateUpdate(pod, old), tt.want)
		})
	}
}

// TestValidateStatusUpdateAppArmor: a status write may not touch AppArmor annotations
// either, and still has the annotations checked.
func TestValidateStatusUpdateAppArmor(t *testing.T) {
	old := validPod()
	old.Spec.NodeName = "node-1"
	pod := old.DeepCopy()
	pod.Annotations = map[string]string{appArmorAppKey: "runtime/default", seccompPodKey: "bogus"}
	s := New()
	s.PrepareForStatusUpdate(pod, old)
	s.Default(pod)
	checkErrors(t, s.ValidateStatusUpdate(pod, old), []string{
		"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: Forbidden: may not add AppArmor annotations",
		`metadata.annotations.seccomp.security.alpha.kubernetes.io/pod: Invalid value: "bogus": must be a valid seccomp profile`,
	})
}

// TestValidateTemplateSecurity: a pod template has its annotations compared with its
// fields, as a new pod does.
func TestValidateTemplateSecurity(t *testing.T) {
	pod := validPod()
	pod.Annotations = map[string]string{seccompAppKey: "unconfined"}
	appSecurity(pod, corev1.SecurityContext{SeccompProfile: seccomp(corev1.SeccompProfileTypeRuntimeDefault), RunAsUser: ptr.To[int64](-1)})
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}
	checkErrors(t, ValidateTemplate(tmpl, field.NewPath("template")), []string{
		"template.spec.containers[0].securityContext.seccompProfile.type: " + seccompTypeMsg,
		"template.spec.containers[0].securityContext.runAsUser: Invalid value: -1",
	})
}
