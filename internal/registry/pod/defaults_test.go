package pod

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// kubectlRunPod is what `kubectl run nginx --image=nginx` sends.
func kubectlRunPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default", Labels: map[string]string{"run": "nginx"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}},
		},
	}
}

func TestDefaultsKubectlRun(t *testing.T) {
	got := kubectlRunPod()
	s := New()
	s.PrepareForCreate(got)
	s.Default(got)

	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default", Labels: map[string]string{"run": "nginx"}, Generation: 1},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:                     "nginx",
				Image:                    "nginx",
				ImagePullPolicy:          corev1.PullAlways,
				TerminationMessagePath:   "/dev/termination-log",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			DeprecatedServiceAccount:      "default",
			SecurityContext:               &corev1.PodSecurityContext{},
			SchedulerName:                 "default-scheduler",
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			},
			Priority:           ptr.To[int32](0),
			PreemptionPolicy:   ptr.To(corev1.PreemptLowerPriority),
			EnableServiceLinks: ptr.To(true),
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaulted pod mismatch (-want +got):\n%s", diff)
	}
	if errs := s.Validate(got); len(errs) != 0 {
		t.Errorf("defaulted pod is invalid: %v", errs)
	}
}

// richPod exercises most defaulted fields at once.
func richPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "rich", Namespace: "ns"},
		Spec: corev1.PodSpec{
			HostNetwork: true,
			InitContainers: []corev1.Container{{
				Name: "init", Image: "busybox:1.36",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"cpu": resource.MustParse("100m")}},
			}},
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "registry.example:5000/app@sha256:" + sha,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env: []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"},
				}}},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("1Gi")},
					Requests: corev1.ResourceList{"cpu": resource.MustParse("0.0001")},
				},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}},
				Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}},
			}},
			Volumes: []corev1.Volume{
				{Name: "scratch"},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				}}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				}}}},
			},
		},
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDefaultsRichPod(t *testing.T) {
	pod := richPod()
	setDefaults(pod)

	init, app := pod.Spec.InitContainers[0], pod.Spec.Containers[0]
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"init pull policy for a tag", init.ImagePullPolicy, corev1.PullIfNotPresent},
		{"app pull policy for a digest", app.ImagePullPolicy, corev1.PullIfNotPresent},
		{"init requests from limits", init.Resources.Requests.Cpu().String(), "100m"},
		{"app memory request from limit", app.Resources.Requests.Memory().String(), "1Gi"},
		{"app cpu request kept and rounded up", app.Resources.Requests.Cpu().String(), "1m"},
		{"port protocol", app.Ports[0].Protocol, corev1.ProtocolTCP},
		{"host network host port", app.Ports[0].HostPort, int32(8080)},
		{"env fieldRef apiVersion", app.Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"liveness timeout", app.LivenessProbe.TimeoutSeconds, int32(1)},
		{"liveness period", app.LivenessProbe.PeriodSeconds, int32(10)},
		{"liveness success", app.LivenessProbe.SuccessThreshold, int32(1)},
		{"liveness failure", app.LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet path", app.LivenessProbe.HTTPGet.Path, "/"},
		{"httpGet scheme", app.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"grpc service", app.ReadinessProbe.GRPC.Service, ptr.To("")},
		{"preStop httpGet scheme", app.Lifecycle.PreStop.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"volume without source", pod.Spec.Volumes[0].EmptyDir, &corev1.EmptyDirVolumeSource{}},
		{"hostPath type", pod.Spec.Volumes[1].HostPath.Type, ptr.To(corev1.HostPathUnset)},
		{"configMap mode", pod.Spec.Volumes[2].ConfigMap.DefaultMode, ptr.To[int32](0644)},
		{"secret mode", pod.Spec.Volumes[3].Secret.DefaultMode, ptr.To[int32](420)},
		{"downwardAPI mode", pod.Spec.Volumes[4].DownwardAPI.DefaultMode, ptr.To[int32](0644)},
		{"downwardAPI fieldRef apiVersion", pod.Spec.Volumes[4].DownwardAPI.Items[0].FieldRef.APIVersion, "v1"},
		{"projected mode", pod.Spec.Volumes[5].Projected.DefaultMode, ptr.To[int32](0644)},
		{"token expiry", pod.Spec.Volumes[5].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds, ptr.To[int64](3600)},
		{"qos with unequal cpu", pod.Status.QOSClass, corev1.PodQOSBurstable},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	again := pod.DeepCopy()
	setDefaults(again)
	if diff := cmp.Diff(pod, again); diff != "" {
		t.Errorf("defaulting twice changed the pod (-once +twice):\n%s", diff)
	}
}

func TestPullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.25", corev1.PullIfNotPresent},
		{"docker.io/library/nginx", corev1.PullAlways},
		{"registry.example:5000/team/app", corev1.PullAlways},
		{"registry.example:5000/team/app:v2", corev1.PullIfNotPresent},
		{"app@sha256:" + sha, corev1.PullIfNotPresent},
		{"app:latest@sha256:" + sha, corev1.PullAlways},
		{"Not A Reference", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if got := pullPolicyFor(tt.image); got != tt.want {
				t.Errorf("pullPolicyFor(%q) = %s, want %s", tt.image, got, tt.want)
			}
		})
	}
}

func TestDefaultTolerations(t *testing.T) {
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	unreachable := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	tests := []struct {
		name string
		have []corev1.Toleration
		want []corev1.Toleration
	}{
		{"none", nil, []corev1.Toleration{notReady, unreachable}},
		{
			"tolerate everything",
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
		{
			"not-ready for a minute",
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}},
			[]corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}, unreachable},
		},
		{
			"NoSchedule does not tolerate NoExecute",
			[]corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, notReady, unreachable},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &corev1.PodSpec{Tolerations: tt.have}
			defaultTolerations(spec)
			if diff := cmp.Diff(tt.want, spec.Tolerations); diff != "" {
				t.Errorf("tolerations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultServiceAccountAndPriority(t *testing.T) {
	tests := []struct {
		name                      string
		priorityClass, deprecated string
		wantSA                    string
		wantPriority              *int32
		wantPreemption            *corev1.PreemptionPolicy
	}{
		{name: "empty", wantSA: "default", wantPriority: ptr.To[int32](0), wantPreemption: ptr.To(corev1.PreemptLowerPriority)},
		{name: "deprecated alias", deprecated: "builder", wantSA: "builder", wantPriority: ptr.To[int32](0), wantPreemption: ptr.To(corev1.PreemptLowerPriority)},
		{name: "system class", priorityClass: "system-node-critical", wantSA: "default", wantPriority: ptr.To[int32](2000001000), wantPreemption: ptr.To(corev1.PreemptLowerPriority)},
		{name: "other class is left to the server", priorityClass: "high", wantSA: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := kubectlRunPod()
			pod.Spec.PriorityClassName = tt.priorityClass
			pod.Spec.DeprecatedServiceAccount = tt.deprecated
			setDefaults(pod)
			if pod.Spec.ServiceAccountName != tt.wantSA || pod.Spec.DeprecatedServiceAccount != tt.wantSA {
				t.Errorf("service account = %q/%q, want %q", pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount, tt.wantSA)
			}
			if !equality.Semantic.DeepEqual(pod.Spec.Priority, tt.wantPriority) {
				t.Errorf("priority = %v, want %v", ptr.Deref(pod.Spec.Priority, -1), ptr.Deref(tt.wantPriority, -1))
			}
			if !equality.Semantic.DeepEqual(pod.Spec.PreemptionPolicy, tt.wantPreemption) {
				t.Errorf("preemptionPolicy = %v, want %v", pod.Spec.PreemptionPolicy, tt.wantPreemption)
			}
		})
	}

	t.Run("mirror pod keeps no service account", func(t *testing.T) {
		pod := kubectlRunPod()
		pod.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		setDefaults(pod)
		if pod.Spec.ServiceAccountName != "" {
			t.Errorf("serviceAccountName = %q, want empty", pod.Spec.ServiceAccountName)
		}
	})
}

func TestDefaultStatusIPs(t *testing.T) {
	tests := []struct {
		name        string
		status      corev1.PodStatus
		wantIP      string
		wantIPs     []corev1.PodIP
		wantHostIPs []corev1.HostIP
	}{
		{
			name:        "singular fills plural",
			status:      corev1.PodStatus{PodIP: "10.0.0.5", HostIP: "192.168.1.2"},
			wantIP:      "10.0.0.5",
			wantIPs:     []corev1.PodIP{{IP: "10.0.0.5"}},
			wantHostIPs: []corev1.HostIP{{IP: "192.168.1.2"}},
		},
		{
			name:    "plural fills singular",
			status:  corev1.PodStatus{PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}}},
			wantIP:  "10.0.0.5",
			wantIPs: []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
		},
		{
			name:    "singular wins a disagreement",
			status:  corev1.PodStatus{PodIP: "10.0.0.9", PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}}},
			wantIP:  "10.0.0.9",
			wantIPs: []corev1.PodIP{{IP: "10.0.0.9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := kubectlRunPod()
			pod.Status = tt.status
			setDefaults(pod)
			if pod.Status.PodIP != tt.wantIP {
				t.Errorf("podIP = %q, want %q", pod.Status.PodIP, tt.wantIP)
			}
			if diff := cmp.Diff(tt.wantIPs, pod.Status.PodIPs); diff != "" {
				t.Errorf("podIPs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantHostIPs, pod.Status.HostIPs); diff != "" {
				t.Errorf("hostIPs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQOSClass(t *testing.T) {
	list := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l["cpu"] = resource.MustParse(cpu)
		}
		if mem != "" {
			l["memory"] = resource.MustParse(mem)
		}
		return l
	}
	tests := []struct {
		name       string
		containers []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{"nothing", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"limits only, defaulted", []corev1.ResourceRequirements{{Limits: list("1", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"equal", []corev1.ResourceRequirements{{Limits: list("1", "1Gi"), Requests: list("1", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"cpu only", []corev1.ResourceRequirements{{Limits: list("1", "")}}, corev1.PodQOSBurstable},
		{"request below limit", []corev1.ResourceRequirements{{Limits: list("1", "1Gi"), Requests: list("500m", "1Gi")}}, corev1.PodQOSBurstable},
		{"one guaranteed one best effort", []corev1.ResourceRequirements{{Limits: list("1", "1Gi")}, {}}, corev1.PodQOSBurstable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			for i, r := range tt.containers {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: string(rune('a' + i)), Resources: r})
			}
			s := New()
			s.PrepareForCreate(pod)
			s.Default(pod) // as the API server runs them, admission between
			if pod.Status.QOSClass != tt.want {
				t.Errorf("qosClass = %s, want %s", pod.Status.QOSClass, tt.want)
			}
		})
	}
}
