package pod

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

func TestInfo(t *testing.T) {
	info := New().Info()
	if got, want := info.GroupVersionKind().String(), "/v1, Kind=Pod"; got != want {
		t.Errorf("GVK = %q, want %q", got, want)
	}
	if info.ListKind != "PodList" || info.Resource != "pods" || info.Singular != "pod" || !info.Namespaced {
		t.Errorf("info = %+v", info)
	}
	if diff := cmp.Diff([]string{"po"}, info.ShortNames); diff != "" {
		t.Errorf("short names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"status", "binding", "eviction", "log", "exec", "attach", "portforward", "ephemeralcontainers", "resize", "proxy"}, info.Subresources); diff != "" {
		t.Errorf("subresources (-want +got):\n%s", diff)
	}
	if _, ok := New().(registry.GracefulDeleter); !ok {
		t.Error("strategy does not implement GracefulDeleter")
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name   string
		prefix bool
		valid  bool
	}{
		{"web-0", false, true},
		{"web.example", false, true},
		{"Web", false, false},
		{"web-", false, false},
		{"web-", true, true},
	}
	for _, tt := range tests {
		if msgs := New().ValidateName(tt.name, tt.prefix); (len(msgs) == 0) != tt.valid {
			t.Errorf("ValidateName(%q, %v) = %v, want valid=%v", tt.name, tt.prefix, msgs, tt.valid)
		}
	}
}

func TestPrepareForCreate(t *testing.T) {
	pod := kubectlRunPod()
	pod.Generation = 7
	pod.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "1.2.3.4", QOSClass: corev1.PodQOSGuaranteed}
	New().PrepareForCreate(pod)

	// The QoS class is Default's to fill (mutating admission runs between).
	want := corev1.PodStatus{
		Phase: corev1.PodPending,
		Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated",
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}},
	}
	if diff := cmp.Diff(want, pod.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if pod.Generation != 1 {
		t.Errorf("generation = %d, want 1", pod.Generation)
	}
}

func TestPrepareForUpdate(t *testing.T) {
	tests := []struct {
		name           string
		mutate         func(p *corev1.Pod)
		wantGeneration int64
	}{
		{"metadata only", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, 3},
		{"undefaulted copy of the same spec", func(p *corev1.Pod) {
			p.Spec = corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}}}
		}, 3},
		{"new image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.26" }, 4},
		{"client sets a generation", func(p *corev1.Pod) { p.Generation = 99 }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validPod()
			old.Generation = 3
			old.Status.Phase = corev1.PodRunning
			pod := old.DeepCopy()
			pod.Status = corev1.PodStatus{Phase: corev1.PodFailed}
			tt.mutate(pod)
			New().PrepareForUpdate(pod, old)
			if pod.Status.Phase != corev1.PodRunning {
				t.Errorf("status phase = %s, want the stored Running", pod.Status.Phase)
			}
			if pod.Generation != tt.wantGeneration {
				t.Errorf("generation = %d, want %d", pod.Generation, tt.wantGeneration)
			}
		})
	}
}

func TestPrepareForStatusUpdate(t *testing.T) {
	old := validPod()
	old.Generation = 2
	old.Spec.NodeName = "node-1"
	old.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "u"}}
	old.Status.ObservedGeneration = 2
	old.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, ObservedGeneration: 2}}

	pod := old.DeepCopy()
	pod.Spec.NodeName = "elsewhere"
	pod.OwnerReferences = nil
	pod.DeletionTimestamp = ptr.To(metav1.Now())
	pod.Labels = map[string]string{"kubelet": "may"}
	pod.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	}
	oldBefore := old.DeepCopy()
	s := New()
	s.PrepareForStatusUpdate(pod, old)
	s.Default(pod)

	if diff := cmp.Diff(old.Spec, pod.Spec); diff != "" {
		t.Errorf("spec not kept (-old +got):\n%s", diff)
	}
	pod.Spec.Containers[0].Image = "changed"
	if diff := cmp.Diff(oldBefore, old); diff != "" {
		t.Errorf("the new pod shares memory with the stored one (-before +after):\n%s", diff)
	}
	if pod.DeletionTimestamp != nil || len(pod.OwnerReferences) != 1 || pod.Labels["kubelet"] != "may" {
		t.Errorf("metadata: deletionTimestamp %v, ownerReferences %v, labels %v", pod.DeletionTimestamp, pod.OwnerReferences, pod.Labels)
	}
	if pod.Status.Phase != corev1.PodRunning || pod.Status.QOSClass != old.Status.QOSClass {
		t.Errorf("status phase %s, qosClass %s", pod.Status.Phase, pod.Status.QOSClass)
	}
	if pod.Status.ObservedGeneration != 2 || pod.Status.Conditions[0].ObservedGeneration != 2 {
		t.Errorf("observedGeneration %d, condition observedGeneration %d, want 2 and 2",
			pod.Status.ObservedGeneration, pod.Status.Conditions[0].ObservedGeneration)
	}
}

func TestFields(t *testing.T) {
	pod := validPod()
	pod.Spec.NodeName = "node-1"
	pod.Spec.HostNetwork = true
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.4"}}
	pod.Status.NominatedNodeName = "node-2"

	want := fields.Set{
		"metadata.name":            "web",
		"metadata.namespace":       "default",
		"spec.nodeName":            "node-1",
		"spec.restartPolicy":       "Always",
		"spec.schedulerName":       "default-scheduler",
		"spec.serviceAccountName":  "default",
		"spec.hostNetwork":         "true",
		"status.phase":             "Running",
		"status.podIP":             "10.1.0.4",
		"status.nominatedNodeName": "node-2",
	}
	if diff := cmp.Diff(want, New().Fields(pod)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestCheckGracefulDelete(t *testing.T) {
	deleting := metav1.NewTime(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	tests := []struct {
		name      string
		pod       func(p *corev1.Pod)
		opts      *metav1.DeleteOptions
		wantGrace int64
		wantWait  bool
	}{
		{"bound, default period", nil, nil, 30, true},
		{"bound, pod's own period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](90) }, &metav1.DeleteOptions{}, 90, true},
		{"bound, zero period in spec", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0) }, nil, 0, false},
		{"bound, requested period", nil, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](5)}, 5, true},
		{"bound, negative request", nil, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](-3)}, 1, true},
		{"force", nil, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, 0, false},
		{"not scheduled", func(p *corev1.Pod) { p.Spec.NodeName = "" }, nil, 0, false},
		{"succeeded", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }, nil, 0, false},
		{"failed", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](10)}, 0, false},
		{"already deleting, no request", func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleting, ptr.To[int64](30)
		}, nil, 30, true},
		{"already deleting, longer request", func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleting, ptr.To[int64](30)
		}, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](60)}, 30, true},
		{"already deleting, shorter request", func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleting, ptr.To[int64](30)
		}, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](10)}, 10, true},
		{"already deleting, force", func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleting, ptr.To[int64](30)
		}, &metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, 0, false},
		{"already deleting, no recorded period", func(p *corev1.Pod) { p.DeletionTimestamp = &deleting }, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			pod.Spec.NodeName = "node-1"
			pod.Status.Phase = corev1.PodRunning
			if tt.pod != nil {
				tt.pod(pod)
			}
			grace, wait := New().(registry.GracefulDeleter).CheckGracefulDelete(pod, tt.opts)
			if grace != tt.wantGrace || wait != tt.wantWait {
				t.Errorf("CheckGracefulDelete = (%d, %v), want (%d, %v)", grace, wait, tt.wantGrace, tt.wantWait)
			}
		})
	}
}

func TestBind(t *testing.T) {
	bindTime := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	binding := func(node string) *corev1.Binding {
		return &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"scheduler.example/score": "9"}},
			Target:     corev1.ObjectReference{Kind: "Node", Name: node},
		}
	}
	tests := []struct {
		name    string
		pod     func(p *corev1.Pod)
		binding *corev1.Binding
		wantErr string
		check   func(error) bool
	}{
		{name: "unbound", binding: binding("node-1")},
		{name: "already bound", pod: func(p *corev1.Pod) { p.Spec.NodeName = "node-0" }, binding: binding("node-1"),
			wantErr: `Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "node-0"`, check: apierrors.IsConflict},
		{name: "being deleted", pod: func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.NewTime(bindTime)) }, binding: binding("node-1"),
			wantErr: `Operation cannot be fulfilled on pods/binding "web": pod web is being deleted, cannot be assigned to a host`, check: apierrors.IsConflict},
		{name: "gated", pod: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "g"}} }, binding: binding("node-1"),
			wantErr: `Operation cannot be fulfilled on pods/binding "web": pod web has non-empty .spec.schedulingGates`, check: apierrors.IsConflict},
		{name: "no target", binding: binding(""),
			wantErr: `Binding "web" is invalid: target.name: Required value`, check: apierrors.IsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			pod.Status.NominatedNodeName = "node-1"
			pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
			if tt.pod != nil {
				tt.pod(pod)
			}
			before := pod.DeepCopy()
			err := bind(pod, tt.binding, bindTime)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !tt.check(err) {
					t.Fatalf("bind error = %v, want %q", err, tt.wantErr)
				}
				if diff := cmp.Diff(before, pod); diff != "" {
					t.Errorf("failed bind changed the pod:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("bind: %v", err)
			}
			if pod.Spec.NodeName != "node-1" || pod.Annotations["scheduler.example/score"] != "9" || pod.Status.NominatedNodeName != "" {
				t.Errorf("nodeName %q, annotations %v, nominated %q", pod.Spec.NodeName, pod.Annotations, pod.Status.NominatedNodeName)
			}
			want := []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(bindTime)}}
			if diff := cmp.Diff(want, pod.Status.Conditions); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEphemeralContainersSubresource: a write through ephemeralcontainers takes only the
// ephemeral containers (and bumps the generation when they change); those already there
// may be neither changed nor removed.
func TestEphemeralContainersSubresource(t *testing.T) {
	s := New()
	sw := s.(registry.SubresourceWriter)
	stored := kubectlRunPod()
	s.PrepareForCreate(stored)
	s.Default(stored)
	stored.ResourceVersion = "5"

	in := stored.DeepCopy()
	in.Labels = map[string]string{"changed": "yes"}
	in.Spec.Containers[0].Image = "busybox"
	in.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "busybox", Command: []string{"sh"}, Stdin: true, TTY: true}}}
	sw.PrepareForSubresourceUpdate("ephemeralcontainers", in, stored)
	s.Default(in)
	if in.Labels["changed"] != "" || in.Spec.Containers[0].Image != "nginx" || len(in.Spec.EphemeralContainers) != 1 || in.Generation != 2 {
		t.Fatalf("prepared: labels %v image %s ephemeral %d generation %d", in.Labels, in.Spec.Containers[0].Image, len(in.Spec.EphemeralContainers), in.Generation)
	}
	if errs := sw.ValidateSubresourceUpdate("ephemeralcontainers", in, stored); len(errs) != 0 {
		t.Fatalf("adding one: %v", errs)
	}

	changed := in.DeepCopy()
	changed.Spec.EphemeralContainers[0].Image = "nginx"
	errs := sw.ValidateSubresourceUpdate("ephemeralcontainers", changed, in)
	if len(errs) != 1 || errs[0].Field != "spec.ephemeralContainers" || !strings.Contains(errs[0].Detail, `existing ephemeral containers "debugger" may not be changed`) {
		t.Fatalf("changing one: %v", errs)
	}
	removed := in.DeepCopy()
	removed.Spec.EphemeralContainers = nil
	errs = sw.ValidateSubresourceUpdate("ephemeralcontainers", removed, in)
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, `existing ephemeral containers "debugger" may not be removed`) {
		t.Fatalf("removing one: %v", errs)
	}
}

// TestResizeSubresource: a write through resize takes only the containers' resources
// and bumps the generation; it may not change the QoS class, remove a limit, touch
// another resource than cpu and memory, or rename a container.
func TestResizeSubresource(t *testing.T) {
	s := New()
	sw := s.(registry.SubresourceWriter)
	stored := kubectlRunPod()
	stored.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("45Mi")},
	}
	s.PrepareForCreate(stored)
	s.Default(stored)
	stored.ResourceVersion = "5"
	if stored.Status.QOSClass != corev1.PodQOSBurstable {
		t.Fatalf("QoS class %s", stored.Status.QOSClass)
	}

	resize := func(change func(p *corev1.Pod)) (*corev1.Pod, []string) {
		in := stored.DeepCopy()
		change(in)
		sw.PrepareForSubresourceUpdate("resize", in, stored)
		s.Default(in)
		var got []string
		for _, e := range sw.ValidateSubresourceUpdate("resize", in, stored) {
			got = append(got, e.Field+": "+e.Detail)
		}
		return in, got
	}

	in, errs := resize(func(p *corev1.Pod) {
		p.Labels = map[string]string{"changed": "yes"}
		p.Spec.Containers[0].Image = "busybox"
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("25m")
		p.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("35m")
	})
	c := in.Spec.Containers[0]
	if len(errs) != 0 || in.Labels["changed"] != "" || c.Image != "nginx" || in.Generation != 2 ||
		c.Resources.Requests.Cpu().String() != "25m" || c.Resources.Limits.Cpu().String() != "35m" {
		t.Fatalf("resize: errs %v labels %v image %s generation %d resources %v", errs, in.Labels, c.Image, in.Generation, c.Resources)
	}

	for _, tc := range []struct {
		name   string
		change func(p *corev1.Pod)
		want   string
	}{
		{"to Guaranteed", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("45Mi")}}
		}, "spec: Pod QOS Class may not change as a result of resizing"},
		{"limit removed", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = nil
		}, "spec.containers[0].resources.limits: resource limits cannot be removed"},
		{"another resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}, "spec: only cpu and memory resources are mutable"},
		{"renamed", func(p *corev1.Pod) {
			p.Spec.Containers[0].Name = "other"
		}, "spec.containers[0].name: containers may not be renamed or reordered on resize"},
	} {
		if _, errs := resize(tc.change); !slices.Contains(errs, tc.want) {
			t.Errorf("%s: errors %q, want %q", tc.name, errs, tc.want)
		}
	}
}

// TestResizeAdmitter: a resize beyond the node's allocatable resources is refused with
// upstream's 403 and cause; one within them, or of a pod not bound yet, is admitted.
func TestResizeAdmitter(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}
	a := ResizeAdmitter{Node: func(name string) *corev1.Node {
		if name == "n1" {
			return node
		}
		return nil
	}}
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 1}, Spec: corev1.PodSpec{NodeName: "n1",
		Containers: []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}
	resized := func(cpu, mem string) *corev1.Pod {
		p := old.DeepCopy()
		p.Generation = 2
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
		return p
	}
	if err := a.AdmitSubresourceUpdate(t.Context(), "resize", resized("1500m", "512Mi"), old); err != nil {
		t.Errorf("a resize that fits: %v", err)
	}
	err := a.AdmitSubresourceUpdate(t.Context(), "resize", resized("3", "2Gi"), old)
	want := `pods "p" is forbidden: node didn't have enough allocatable resources: cpu, requested: 3000, allocatable: 2000; memory, requested: 2147483648, allocatable: 1073741824`
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !apierrors.IsForbidden(err) || err.Error() != want ||
		len(status.ErrStatus.Details.Causes) != 1 || status.ErrStatus.Details.Causes[0].Type != "NodeCapacity" {
		t.Errorf("a resize beyond the node: %v", err)
	}
	unbound := resized("3", "2Gi")
	unbound.Spec.NodeName = ""
	if err := a.AdmitSubresourceUpdate(t.Context(), "resize", unbound, old); err != nil {
		t.Errorf("a pod not bound yet: %v", err)
	}
	gone := resized("1", "1Mi")
	gone.Spec.NodeName = "n2"
	if err := a.AdmitSubresourceUpdate(t.Context(), "resize", gone, old); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "n2" not found`) {
		t.Errorf("a pod on a node that is gone: %v", err)
	}
}
