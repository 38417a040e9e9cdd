package pod

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// validPod returns a defaulted, valid pod with one container named "app".
func validPod() *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}},
		},
	}
	s := New()
	s.PrepareForCreate(pod)
	s.Default(pod)
	return pod
}

// checkErrors requires errs to match want one to one, each error's text starting
// with its wanted prefix (a whole message where it is short).
func checkErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	used := make([]bool, len(got))
	var missing []string
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && strings.HasPrefix(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	var extra []string
	for i, g := range got {
		if !used[i] {
			extra = append(extra, g)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("errors mismatch\nmissing:\n  %s\nunexpected:\n  %s", strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
	}
}

func TestValidateCreate(t *testing.T) {
	probe := func(h corev1.ProbeHandler) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: h, TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	}
	httpGet := func(port intstr.IntOrString) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: port, Scheme: corev1.URISchemeHTTP}}
	}
	container := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}
	}
	always := ptr.To(corev1.ContainerRestartPolicyAlways)

	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{"valid", func(p *corev1.Pod) {}, nil},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers: Required value"}},
		{"sysctls", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{
				{Name: "foo-", Value: "bar"}, {Name: "kernel.shmmax", Value: "1"}, {Name: "safe-and-unsafe", Value: "1"},
				{Name: "bar..", Value: "42"}, {Name: "kernel.shmmax", Value: "2"}, {Name: "net/ipv4/ip_forward", Value: "1"}}}
		}, []string{
			`spec.securityContext.sysctls[0].name: Invalid value: "foo-": must have at most 253 characters and match regex`,
			`spec.securityContext.sysctls[3].name: Invalid value: "bar..": must have at most 253 characters and match regex`,
			`spec.securityContext.sysctls[4].name: Duplicate value: "kernel.shmmax"`,
		}},
		{"net sysctl on the host's network", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}}}
		}, []string{`spec.securityContext.sysctls[0].name: Invalid value: "net.ipv4.ip_local_port_range": may not be specified when 'hostNetwork' is true`}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"shared process namespace with the host's", func(p *corev1.Pod) { p.Spec.ShareProcessNamespace, p.Spec.HostPID = ptr.To(true), true },
			[]string{"spec.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"}},
		{"a user namespace with the host's others", func(p *corev1.Pod) {
			p.Spec.HostUsers, p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = ptr.To(false), true, true, true
			p.Spec.Containers[0].VolumeDevices = []corev1.VolumeDevice{{Name: "blk", DevicePath: "/dev/xvda"}}
		}, []string{
			"spec.hostNetwork: Forbidden: when `hostUsers` is false", "spec.HostPID: Forbidden: when `hostUsers` is false",
			"spec.HostIPC: Forbidden: when `hostUsers` is false", "spec.containers[0].volumeDevices: Forbidden: when `hostUsers` is false",
			`spec.containers[0].volumeDevices[0].name: Not found: "blk"`,
		}},
		{"hostnameOverride", func(p *corev1.Pod) {
			p.Spec.HostnameOverride, p.Spec.SetHostnameAsFQDN, p.Spec.HostNetwork = ptr.To("Not_A_Name"), ptr.To(true), true
		}, []string{
			"spec.hostnameOverride: Forbidden: may not be specified when setHostnameAsFQDN is true",
			"spec.hostnameOverride: Forbidden: may not be specified when hostNetwork is true",
			`spec.hostnameOverride: Invalid value: "Not_A_Name": a lowercase RFC 1123 subdomain`,
		}},
		{"fileKeyRef to a volume that is no emptyDir", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}}}
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "A", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "conf", Path: "env", Key: "A"}}},
				{Name: "B", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "none", Path: "env", Key: "B"}}},
			}
		}, []string{
			`spec.containers[0].env[0].valueFrom.fileKeyRef.volumeName: Invalid value: "conf": referenced volume must be of type emptyDir`,
			`spec.containers[0].env[1].valueFrom.fileKeyRef.volumeName: Not found: "none"`,
		}},
		{"unknown os", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: "plan9"} },
			[]string{`spec.os: Unsupported value: "plan9": supported values: "linux", "windows"`}},
		{"duplicate container", func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, container("app")) },
			[]string{`spec.containers[1].name: Duplicate value: "app"`}},
		{"init container named like an app container", func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{container("app")} },
			[]string{`spec.initContainers[0].name: Duplicate value: "app"`}},
		{"container name not a DNS label", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App_1" },
			[]string{`spec.containers[0].name: Invalid value: "App_1": a lowercase RFC 1123 label must consist of`}},
		{"container without name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, []string{"spec.containers[0].name: Required value"}},
		{"image with whitespace", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			[]string{`spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace`}},
		{"bad pull policy", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" },
			[]string{`spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`}},
		{"bad termination message policy", func(p *corev1.Pod) { p.Spec.Containers[0].TerminationMessagePolicy = "Log" },
			[]string{`spec.containers[0].terminationMessagePolicy: Unsupported value: "Log": supported values: "File", "FallbackToLogsOnError"`}},
		{"ports", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{
				{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
				{Name: "http", ContainerPort: 70000, HostPort: 70000, Protocol: "HTTP"},
				{Name: "Bad_Name", Protocol: corev1.ProtocolUDP},
			}
		}, []string{
			`spec.containers[0].ports[1].name: Duplicate value: "http"`,
			"spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			"spec.containers[0].ports[1].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			`spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`,
			`spec.containers[0].ports[2].name: Invalid value: "Bad_Name"`,
			"spec.containers[0].ports[2].containerPort: Required value",
		}},
		{"host port conflict", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, container("sidecar"))
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
			p.Spec.Containers[1].Ports = []corev1.ContainerPort{{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
		}, []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`}},
		{"host network port mismatch", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
		}, []string{"spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"}},
		{"restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			[]string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{"dns policy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Cluster" },
			[]string{`spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`}},
		{"dns none without config", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			[]string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
		{"two probe handlers", func(p *corev1.Pod) {
			h := httpGet(intstr.FromInt32(80))
			h.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
			p.Spec.Containers[0].LivenessProbe = probe(h)
		}, []string{"spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{"no probe handler", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = probe(corev1.ProbeHandler{}) },
			[]string{"spec.containers[0].readinessProbe: Required value: must specify a handler type"}},
		{"liveness and startup success threshold", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = probe(httpGet(intstr.FromInt32(80)))
			p.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2
			p.Spec.Containers[0].StartupProbe = probe(corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}})
			p.Spec.Containers[0].StartupProbe.SuccessThreshold = 3
			p.Spec.Containers[0].ReadinessProbe = probe(httpGet(intstr.FromInt32(80)))
			p.Spec.Containers[0].ReadinessProbe.SuccessThreshold = 3
		}, []string{
			"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
			"spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1",
		}},
		{"negative probe numbers", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = probe(httpGet(intstr.FromInt32(80)))
			p.Spec.Containers[0].ReadinessProbe.PeriodSeconds = -1
			p.Spec.Containers[0].ReadinessProbe.InitialDelaySeconds = -5
		}, []string{
			"spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -5: must be greater than or equal to 0",
			"spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
		}},
		{"probe ports", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = probe(httpGet(intstr.FromString("Web_Port")))
			p.Spec.Containers[0].ReadinessProbe = probe(httpGet(intstr.FromInt32(0)))
			p.Spec.Containers[0].ReadinessProbe.HTTPGet.Scheme = "FTP"
		}, []string{
			`spec.containers[0].livenessProbe.httpGet.port: Invalid value: "Web_Port"`,
			"spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
			`spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`,
		}},
		{"exec without command", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{}}}
		}, []string{"spec.containers[0].lifecycle.preStop.exec.command: Required value"}},
		{"sleep longer than the grace period", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 60}}}
		}, []string{"spec.containers[0].lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)"}},
		{"volumes", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
				{Name: "c"},
				{Name: "d", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr.To[int32](01000)}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/../etc"}}},
			}
		}, []string{
			`spec.volumes[1].name: Duplicate value: "a"`,
			"spec.volumes[2].hostPath: Forbidden: may not specify more than 1 volume type",
			"spec.volumes[3]: Required value: must specify a volume type",
			"spec.volumes[4].secret.secretName: Required value",
			"spec.volumes[4].secret.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
			`spec.volumes[5].hostPath.path: Invalid value: "/var/../etc": must not contain '..'`,
		}},
		{"volume mounts", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "data", MountPath: "/data"},
				{Name: "cache", MountPath: "/data"},
				{Name: "data"},
			}
		}, []string{
			`spec.containers[0].volumeMounts[1].name: Not found: "cache"`,
			`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique`,
			"spec.containers[0].volumeMounts[2].mountPath: Required value",
		}},
		{"env", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "A=B"},
				{Name: ""},
				{Name: "has space and.dots", Value: "ok"},
				{Name: "X", Value: "v", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "Y", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.phase"}}},
				{Name: "Z", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}},
			}
		}, []string{
			`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
			"spec.containers[0].env[1].name: Required value",
			"spec.containers[0].env[3].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
			`spec.containers[0].env[4].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase"`,
			"spec.containers[0].env[5].valueFrom.secretKeyRef.key: Required value",
		}},
		{"downward API paths", func(p *corev1.Pod) {
			ref := func(path string) *corev1.EnvVarSource {
				return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
			}
			p.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "APP", ValueFrom: ref("metadata.labels['app']")},
				{Name: "NODE", ValueFrom: ref("spec.host")},
				{Name: "IPS", ValueFrom: ref("status.podIPs")},
				{Name: "BAD", ValueFrom: ref("spec.nodeName['x']")},
				{Name: "WHAT", ValueFrom: ref("spec.containers")},
				{Name: "OLD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v2", FieldPath: "metadata.name"}}},
			}
			p.Spec.Volumes = []corev1.Volume{{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				DefaultMode: ptr.To[int32](0644),
				Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
					{Path: "../node", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}},
				},
			}}}}
		}, []string{
			`spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Invalid value: "spec.nodeName['x']": error converting fieldPath: field label does not support subscript: spec.nodeName['x']`,
			`spec.containers[0].env[4].valueFrom.fieldRef.fieldPath: Invalid value: "spec.containers": error converting fieldPath: field label not supported: spec.containers`,
			`spec.containers[0].env[5].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.name": error converting fieldPath: unsupported pod version: v2`,
			`spec.volumes[0].downwardAPI.path: Invalid value: "../node": must not contain '..'`,
			`spec.volumes[0].downwardAPI.fieldRef.fieldPath: Unsupported value: "spec.nodeName": supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"`,
		}},
		{"resources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{"cpu": resource.MustParse("1"), "example.com/gpu": resource.MustParse("1")},
				Requests: corev1.ResourceList{"cpu": resource.MustParse("2"), "memory": resource.MustParse("-1"), "disk": resource.MustParse("1")},
			}
		}, []string{
			`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`,
			`spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`,
			`spec.containers[0].resources.requests[disk]: Invalid value: "disk": must be a standard resource for containers`,
		}},
		{"extended resource request without limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
		}, []string{"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"}},
		{"negative grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1) },
			[]string{"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{"restart policy on an app container", func(p *corev1.Pod) { p.Spec.Containers[0].RestartPolicy = always },
			[]string{"spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"}},
		{"init restart policy other than Always", func(p *corev1.Pod) {
			c := container("init")
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicy("OnFailure"))
			p.Spec.InitContainers = []corev1.Container{c}
		}, []string{`spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{"probe on a plain init container", func(p *corev1.Pod) {
			c := container("init")
			c.LivenessProbe = probe(httpGet(intstr.FromInt32(80)))
			p.Spec.InitContainers = []corev1.Container{c}
		}, []string{"spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"}},
		{"probe on a sidecar", func(p *corev1.Pod) {
			c := container("proxy")
			c.RestartPolicy = always
			c.LivenessProbe = probe(httpGet(intstr.FromInt32(80)))
			p.Spec.InitContainers = []corev1.Container{c}
		}, nil},
		{"node name", func(p *corev1.Pod) { p.Spec.NodeName = "Node_1" }, []string{`spec.nodeName: Invalid value: "Node_1"`}},
		{"tolerations", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations,
				corev1.Toleration{Key: "k", Operator: "In"},
				corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: "NoRun"},
				corev1.Toleration{Operator: corev1.TolerationOpEqual},
				corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](5)},
			)
		}, []string{
			`spec.tolerations[2].operator: Unsupported value: "In": supported values: "Equal", "Exists"`,
			`spec.tolerations[3].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`,
			"spec.tolerations[4].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
			"spec.tolerations[5].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
		}},
		{"active deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) },
			[]string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}}}
		}, []string{"spec.ephemeralContainers: Forbidden: cannot be set on create"}},
		{"node name with scheduling gates", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		}, []string{"spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"}},
		{"mirror pod without node", func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "abc"} },
			[]string{`metadata.annotations[kubernetes.io/config.mirror]: Invalid value: "abc": must set spec.nodeName if mirror pod annotation is set`}},
		{"deletion cost", func(p *corev1.Pod) { p.Annotations = map[string]string{podDeletionCostAnnotation: "lots"} },
			[]string{`metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: "lots": must be a 32bit integer`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			tt.mutate(pod)
			checkErrors(t, New().Validate(pod), tt.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	const forbidden = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	tests := []struct {
		name   string
		old    func(p *corev1.Pod)
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "no change", mutate: func(p *corev1.Pod) {}},
		{name: "labels may change", mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }},
		{name: "image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.26" }},
		{name: "image emptied", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []string{"spec.containers[0].image: Required value"}},
		{name: "add container", mutate: func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Name = "two"
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, want: []string{"spec.containers: Forbidden: pod updates may not add or remove containers"}},
		{name: "restart policy", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{forbidden}},
		{name: "grace period", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](60) },
			want: []string{forbidden}},
		{name: "set active deadline", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](100) }},
		{name: "shorten active deadline", old: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](100) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](50) }},
		{name: "lengthen active deadline", old: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](100) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](200) },
			want:   []string{"spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"}},
		{name: "clear active deadline", old: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](100) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			want:   []string{"spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"}},
		{name: "add toleration", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists})
		}},
		{name: "change toleration seconds", mutate: func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr.To[int64](10) }},
		{name: "remove toleration", mutate: func(p *corev1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[1:] },
			want: []string{"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"}},
		{name: "remove scheduling gate",
			old:    func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "b"}} },
			mutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "b"}} }},
		{name: "add scheduling gate", mutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "c"}} },
			want: []string{"spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'c'"}},
		{name: "remove mirror annotation",
			old: func(p *corev1.Pod) {
				p.Spec.NodeName = "n"
				p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			},
			mutate: func(p *corev1.Pod) { delete(p.Annotations, corev1.MirrorPodAnnotationKey) },
			want:   []string{"metadata.annotations[kubernetes.io/config.mirror]: Forbidden: may not remove or update mirror pod annotation"}},
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

func TestValidateStatusUpdate(t *testing.T) {
	terminated := func(name string, code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	running := func(name string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	}
	tests := []struct {
		name   string
		old    func(p *corev1.Pod)
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "running", mutate: func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP, p.Status.PodIPs = "10.1.0.4", []corev1.PodIP{{IP: "10.1.0.4"}, {IP: "fd00::4"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: "example.com/ready", Status: corev1.ConditionTrue}}
		}},
		{name: "unknown phase", mutate: func(p *corev1.Pod) { p.Status.Phase = "Sleeping" },
			want: []string{`status.phase: Unsupported value: "Sleeping": supported values: "Pending", "Running", "Succeeded", "Failed", "Unknown"`}},
		{name: "qos class changed", mutate: func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			want: []string{`status.qosClass: Invalid value: "Guaranteed": field is immutable`}},
		{name: "custom condition type", mutate: func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: "not a name!", Status: corev1.ConditionTrue}}
		}, want: []string{`metadata.conditions[0].Type: Invalid value: "not a name!"`}},
		{name: "two IPs of one family", mutate: func(p *corev1.Pod) {
			p.Status.PodIP, p.Status.PodIPs = "10.1.0.4", []corev1.PodIP{{IP: "10.1.0.4"}, {IP: "10.1.0.5"}}
		}, want: []string{"status.podIPs: Invalid value: "}},
		{name: "bad IP", mutate: func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "10.1.0", []corev1.PodIP{{IP: "10.1.0"}} },
			want: []string{`status.podIPs[0]: Invalid value: "10.1.0"`}},
		{name: "revive with restartPolicy Never",
			old: func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("app", 1)}
			},
			mutate: func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{running("app")} },
			want:   []string{"status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"}},
		{name: "revive failed with OnFailure",
			old: func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
				p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("app", 1)}
			},
			mutate: func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{running("app")} }},
		{name: "revive a sidecar with restartPolicy Never",
			old: func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("proxy", 0)}
			},
			mutate: func(p *corev1.Pod) { p.Status.InitContainerStatuses = []corev1.ContainerStatus{running("proxy")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validPod()
			old.Spec.NodeName = "node-1"
			if tt.old != nil {
				tt.old(old)
			}
			pod := old.DeepCopy()
			tt.mutate(pod)
			s := New()
			s.PrepareForStatusUpdate(pod, old)
			s.Default(pod)
			checkErrors(t, s.ValidateStatusUpdate(pod, old), tt.want)
		})
	}
}
