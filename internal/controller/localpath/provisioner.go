package localpath

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/reconcile"
	nodepath "github.com/podium/podium/internal/localpath"
)

const (
	// Provisioner is the provisioner's name, as k3s's.
	Provisioner = "rancher.io/local-path"
	// ClassName is the default StorageClass podium makes.
	ClassName = "local-path"
	// annNode records on a volume the node its directory is on.
	annNode = "local.path.provisioner/selected-node"
	// hostnameLabel is the node label the volumes' node affinity names.
	hostnameLabel = "kubernetes.io/hostname"
)

// DefaultClass returns the StorageClass the server makes at start: the default class.
func DefaultClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: ClassName, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

// Nodes makes and removes volume directories on nodes.
type Nodes interface {
	// Create makes directory name on node and returns its path there.
	Create(ctx context.Context, node, name string) (string, error)
	// Remove removes directory name on node.
	Remove(ctx context.Context, node, name string) error
}

// ProxyNodes reaches the agents through the API server's nodes/NAME/proxy.
type ProxyNodes struct{ Client kubernetes.Interface }

// Create implements Nodes.
func (p ProxyNodes) Create(ctx context.Context, node, name string) (string, error) {
	body, err := p.Client.CoreV1().RESTClient().Post().AbsPath("/api/v1/nodes", node, "proxy", "localPath", name).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("making the directory on node %s: %w", node, err)
	}
	var created nodepath.Created
	if err := json.Unmarshal(body, &created); err != nil || created.Path == "" {
		return "", fmt.Errorf("making the directory on node %s: unexpected answer %q", node, body)
	}
	return created.Path, nil
}

// Remove implements Nodes.
func (p ProxyNodes) Remove(ctx context.Context, node, name string) error {
	if _, err := p.Client.CoreV1().RESTClient().Delete().AbsPath("/api/v1/nodes", node, "proxy", "localPath", name).DoRaw(ctx); err != nil {
		return fmt.Errorf("removing the directory on node %s: %w", node, err)
	}
	return nil
}

// Controller provisions and deletes local-path volumes.
type Controller struct {
	client      kubernetes.Interface
	nodes       Nodes
	claims      corelisters.PersistentVolumeClaimLister
	volumes     corelisters.PersistentVolumeLister
	classes     storagelisters.StorageClassLister
	nodeLister  corelisters.NodeLister
	synced      []cache.InformerSynced
	loop        *reconcile.Loop
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
}

const (
	claimKey  = "pvc/"
	volumeKey = "pv/"
)

// New returns the provisioner; the caller starts the informer factory.
func New(client kubernetes.Interface, nodes Nodes, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	core := factory.Core().V1()
	c := &Controller{client: client, nodes: nodes, claims: core.PersistentVolumeClaims().Lister(), volumes: core.PersistentVolumes().Lister(),
		classes: factory.Storage().V1().StorageClasses().Lister(), nodeLister: core.Nodes().Lister(),
		synced: []cache.InformerSynced{core.PersistentVolumeClaims().Informer().HasSynced, core.PersistentVolumes().Informer().HasSynced,
			factory.Storage().V1().StorageClasses().Informer().HasSynced, core.Nodes().Informer().HasSynced}}
	c.loop = reconcile.New("local-path-provisioner", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Provisioner})
	_, _ = core.PersistentVolumeClaims().Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		return claimKey + key
	}))
	_, _ = core.PersistentVolumes().Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		return volumeKey + key
	}))
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.loop.Run(ctx, 4)
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	if name, ok := strings.CutPrefix(key, volumeKey); ok {
		pv, err := c.volumes.Get(name)
		if err != nil {
			return 0, nil
		}
		return 0, c.syncVolume(ctx, pv)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(strings.TrimPrefix(key, claimKey))
	if err != nil {
		return 0, nil
	}
	claim, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if err != nil {
		return 0, nil
	}
	return 0, c.syncClaim(ctx, claim)
}

// dirName is the directory of a claim's volume, as k3s names it.
func dirName(claim *corev1.PersistentVolumeClaim) string {
	return fmt.Sprintf("pvc-%s_%s_%s", claim.UID, claim.Namespace, claim.Name)
}

// syncClaim provisions a volume for a claim handed to this provisioner.
func (c *Controller) syncClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName != "" || claim.DeletionTimestamp != nil || claim.Annotations[volume.AnnStorageProvisioner] != Provisioner {
		return nil
	}
	class, err := c.classes.Get(volume.GetPersistentVolumeClaimClass(claim))
	if err != nil || class.Provisioner != Provisioner {
		return nil
	}
	pvName := "pvc-" + string(claim.UID)
	if _, err := c.volumes.Get(pvName); err == nil {
		return nil // made already; the PV controller binds it
	}
	nodeName := claim.Annotations[volume.AnnSelectedNode]
	if nodeName == "" {
		c.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass \""+class.Name+
			"\": configuration error, no node was specified (local-path volumes need volumeBindingMode WaitForFirstConsumer)")
		return nil
	}
	if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		c.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass \""+class.Name+"\": volumeMode Block is not supported")
		return nil
	}
	node, err := c.nodeLister.Get(nodeName)
	if err != nil {
		c.recorder.Eventf(claim, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass %q: failed to get target node: %v", class.Name, err)
		return err
	}
	c.recorder.Eventf(claim, corev1.EventTypeNormal, "Provisioning", "External provisioner is provisioning volume for claim %q", claim.Namespace+"/"+claim.Name)
	path, err := c.nodes.Create(ctx, nodeName, dirName(claim))
	if err != nil {
		c.recorder.Eventf(claim, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass %q: %v", class.Name, err)
		return err
	}
	hostname := node.Labels[hostnameLabel]
	if hostname == "" {
		hostname = node.Name
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{
			volume.AnnDynamicallyProvisioned: Provisioner, annNode: nodeName}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    claim.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace,
				Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: hostnameLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname}}},
			}}}},
		},
	}
	if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		c.recorder.Eventf(claim, corev1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass %q: %v", class.Name, err)
		return err
	}
	c.recorder.Eventf(claim, corev1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume %s", pvName)
	return nil
}

// syncVolume deletes a Released volume of this provisioner whose policy is Delete:
// first its directory, then the object.
func (c *Controller) syncVolume(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Annotations[volume.AnnDynamicallyProvisioned] != Provisioner || pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return nil
	}
	if node, ref := pv.Annotations[annNode], pv.Spec.ClaimRef; node != "" && ref != nil && pv.Spec.Local != nil {
		name := fmt.Sprintf("pvc-%s_%s_%s", ref.UID, ref.Namespace, ref.Name)
		if !strings.HasSuffix(pv.Spec.Local.Path, "/"+name) {
			// Not the directory this provisioner made: leave the files alone.
			c.recorder.Event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", "the volume's path "+pv.Spec.Local.Path+" is not the one provisioned for its claim")
			return nil
		}
		if err := c.nodes.Remove(ctx, node, name); err != nil {
			c.recorder.Event(pv, corev1.EventTypeWarning, "VolumeFailedDelete", err.Error())
			return err
		}
	}
	err := c.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
