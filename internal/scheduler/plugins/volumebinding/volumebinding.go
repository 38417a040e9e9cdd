package volumebinding

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	ephemeralvolume "k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/component-helpers/storage/volume"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "VolumeBinding"

// Upstream's reasons.
const (
	ReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
	ReasonNodeConflict     = "node(s) had volume node affinity conflict"
	ReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
)

// BindTimeout is how long Bind waits for the claims to be bound, as upstream's
// default bindTimeoutSeconds.
const BindTimeout = 600 * time.Second

// Listers are where the plugin reads claims, volumes and classes.
type Listers struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Volumes corelisters.PersistentVolumeLister
	Classes storagelisters.StorageClassLister
}

// VolumeBinding is the plugin.
type VolumeBinding struct {
	listers Listers
}

var (
	_ framework.PreFilterPlugin = (*VolumeBinding)(nil)
	_ framework.FilterPlugin    = (*VolumeBinding)(nil)
	_ framework.QueueingHinter  = (*VolumeBinding)(nil)
)

// New returns the plugin.
func New(l Listers) *VolumeBinding { return &VolumeBinding{listers: l} }

// Name returns Name.
func (*VolumeBinding) Name() string { return Name }

// state is what PreFilter found: the bound claims' volumes and the claims the
// scheduler is to bind.
type state struct {
	bound   []*corev1.PersistentVolume
	waiting []*corev1.PersistentVolumeClaim
}

// QueueingHint: a claim, volume or class that changed may let the pod's claims bind,
// and a new or changed node may be one its volumes allow.
func (*VolumeBinding) QueueingHint(_ *framework.PodInfo, ev framework.ClusterEvent) bool {
	return ev.Kind == framework.StorageChange || ev.Kind == framework.NodeAdd || ev.Kind == framework.NodeUpdate
}

// claimName returns the claim a pod's volume uses, "" for other volumes.
func claimName(pod *corev1.Pod, v *corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return ephemeralvolume.VolumeClaimName(pod, v)
	}
	return ""
}

// PreFilter looks up the pod's claims; a pod without any skips the plugin.
func (p *VolumeBinding) PreFilter(cs *framework.CycleState, pi *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	pod := pi.Pod
	var s state
	any := false
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		name := claimName(pod, v)
		if name == "" {
			continue
		}
		any = true
		claim, err := p.listers.Claims.PersistentVolumeClaims(pod.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
		if err != nil {
			return framework.AsStatus(err)
		}
		if claim.DeletionTimestamp != nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", name))
		}
		if v.Ephemeral != nil {
			if err := ephemeralvolume.VolumeIsForPod(pod, claim); err != nil {
				return framework.NewStatus(framework.UnschedulableAndUnresolvable, err.Error())
			}
		}
		if claim.Spec.VolumeName != "" {
			pv, err := p.listers.Volumes.Get(claim.Spec.VolumeName)
			if err != nil {
				return framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)")
			}
			s.bound = append(s.bound, pv)
			continue
		}
		delay, err := volume.IsDelayBindingMode(claim, p.listers.Classes)
		if err != nil {
			return framework.AsStatus(err)
		}
		if !delay {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonUnboundImmediate)
		}
		s.waiting = append(s.waiting, claim)
	}
	if !any {
		return framework.NewStatus(framework.Skip)
	}
	cs.Write(Name, &s)
	return nil
}

// Filter checks the bound volumes' node affinity and that each waiting claim can be
// bound on the node.
func (p *VolumeBinding) Filter(cs *framework.CycleState, _ *framework.PodInfo, ni *framework.NodeInfo) *framework.Status {
	v, ok := cs.Read(Name)
	if !ok {
		return nil
	}
	s := v.(*state)
	node := ni.Node()
	for _, pv := range s.bound {
		if err := volume.CheckNodeAffinity(pv, node.Labels); err != nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNodeConflict)
		}
	}
	if len(s.waiting) == 0 {
		return nil
	}
	if _, ok := p.plan(s.waiting, node); !ok {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonBindConflict)
	}
	return nil
}

// plan chooses, for each waiting claim, a static volume on node (nil: to provision);
// false when a claim can have neither.
func (p *VolumeBinding) plan(claims []*corev1.PersistentVolumeClaim, node *corev1.Node) ([]*corev1.PersistentVolume, bool) {
	all, err := p.listers.Volumes.List(labels.Everything())
	if err != nil {
		return nil, false
	}
	slices.SortFunc(all, func(a, b *corev1.PersistentVolume) int { return strings.Compare(a.Name, b.Name) })
	chosen := map[string]*corev1.PersistentVolume{}
	out := make([]*corev1.PersistentVolume, len(claims))
	for i, claim := range claims {
		pv, err := volume.FindMatchingVolume(claim, all, node, chosen, true, true)
		if err != nil {
			return nil, false
		}
		if pv != nil {
			chosen[pv.Name], out[i] = pv, pv
			continue
		}
		if !p.provisionable(claim, node) {
			return nil, false
		}
	}
	return out, true
}

// provisionable reports whether claim's class has a provisioner whose allowed
// topologies include node.
func (p *VolumeBinding) provisionable(claim *corev1.PersistentVolumeClaim, node *corev1.Node) bool {
	class, err := p.listers.Classes.Get(volume.GetPersistentVolumeClaimClass(claim))
	if err != nil || class.Provisioner == "" || class.Provisioner == volume.NotSupportedProvisioner {
		return false
	}
	return allowed(class, node)
}

func allowed(class *storagev1.StorageClass, node *corev1.Node) bool {
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	for _, term := range class.AllowedTopologies {
		match := true
		for _, e := range term.MatchLabelExpressions {
			if !slices.Contains(e.Values, node.Labels[e.Key]) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// Bind binds the pod's waiting claims for node and waits until every one is bound
// (BindTimeout at most). It is called from a binder goroutine, with the cycle's state.
func (p *VolumeBinding) Bind(ctx context.Context, client kubernetes.Interface, cs *framework.CycleState, node *corev1.Node) error {
	v, ok := cs.Read(Name)
	if !ok {
		return nil
	}
	s := v.(*state)
	if len(s.waiting) == 0 {
		return nil
	}
	volumes, ok := p.plan(s.waiting, node)
	if !ok {
		return fmt.Errorf("%s", ReasonBindConflict)
	}
	for i, claim := range s.waiting {
		if pv := volumes[i]; pv != nil {
			next, dirty, err := volume.GetBindVolumeToClaim(pv, claim)
			if err != nil {
				return err
			}
			if dirty {
				if _, err := client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{}); err != nil {
					return fmt.Errorf("binding volumes: %w", err)
				}
			}
			continue
		}
		if claim.Annotations[volume.AnnSelectedNode] == node.Name {
			continue
		}
		next := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, volume.AnnSelectedNode, node.Name)
		if _, err := client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("binding volumes: %w", err)
		}
	}
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, BindTimeout, true, func(context.Context) (bool, error) {
		for _, c := range s.waiting {
			claim, err := p.listers.Claims.PersistentVolumeClaims(c.Namespace).Get(c.Name)
			if err != nil {
				return false, fmt.Errorf("binding volumes: %w", err)
			}
			if claim.UID != c.UID || claim.DeletionTimestamp != nil {
				return false, fmt.Errorf("binding volumes: claim %s/%s went", c.Namespace, c.Name)
			}
			if claim.Spec.VolumeName == "" || !metav1.HasAnnotation(claim.ObjectMeta, volume.AnnBindCompleted) {
				return false, nil
			}
		}
		return true, nil
	})
}
