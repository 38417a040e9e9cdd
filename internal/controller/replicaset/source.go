package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// source is where the controller reads and writes the objects it keeps pods for:
// ReplicaSets, or ReplicationControllers seen as ReplicaSets, as upstream runs both
// with one controller.
type source interface {
	kind() schema.GroupVersionKind
	informer() cache.SharedIndexInformer
	get(namespace, name string) (*appsv1.ReplicaSet, error) // from the cache
	list(namespace string) ([]*appsv1.ReplicaSet, error)    // from the cache
	getLive(ctx context.Context, namespace, name string) (*appsv1.ReplicaSet, error)
	updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error)
	// object is what events are recorded against.
	object(rs *appsv1.ReplicaSet) runtime.Object
}

// replicaSets is the source of ReplicaSets.
type replicaSets struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister appslisters.ReplicaSetLister
}

func newReplicaSets(client kubernetes.Interface, factory informers.SharedInformerFactory) *replicaSets {
	i := factory.Apps().V1().ReplicaSets()
	return &replicaSets{client: client, inf: i.Informer(), lister: i.Lister()}
}

func (s *replicaSets) kind() schema.GroupVersionKind {
	return appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
}
func (s *replicaSets) informer() cache.SharedIndexInformer         { return s.inf }
func (s *replicaSets) object(rs *appsv1.ReplicaSet) runtime.Object { return rs }

func (s *replicaSets) get(namespace, name string) (*appsv1.ReplicaSet, error) {
	return s.lister.ReplicaSets(namespace).Get(name)
}

func (s *replicaSets) list(namespace string) ([]*appsv1.ReplicaSet, error) {
	return s.lister.ReplicaSets(namespace).List(labels.Everything())
}

func (s *replicaSets) getLive(ctx context.Context, namespace, name string) (*appsv1.ReplicaSet, error) {
	return s.client.AppsV1().ReplicaSets(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (s *replicaSets) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	return s.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
}

// replicationControllers is the source of ReplicationControllers.
type replicationControllers struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister corelisters.ReplicationControllerLister
}

func newReplicationControllers(client kubernetes.Interface, factory informers.SharedInformerFactory) *replicationControllers {
	i := factory.Core().V1().ReplicationControllers()
	return &replicationControllers{client: client, inf: i.Informer(), lister: i.Lister()}
}

func (s *replicationControllers) kind() schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind("ReplicationController")
}
func (s *replicationControllers) informer() cache.SharedIndexInformer { return s.inf }

func (s *replicationControllers) object(rs *appsv1.ReplicaSet) runtime.Object {
	return &corev1.ReplicationController{ObjectMeta: rs.ObjectMeta}
}

func (s *replicationControllers) get(namespace, name string) (*appsv1.ReplicaSet, error) {
	rc, err := s.lister.ReplicationControllers(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	return asReplicaSet(rc), nil
}

func (s *replicationControllers) list(namespace string) ([]*appsv1.ReplicaSet, error) {
	rcs, err := s.lister.ReplicationControllers(namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, len(rcs))
	for i, rc := range rcs {
		out[i] = asReplicaSet(rc)
	}
	return out, nil
}

func (s *replicationControllers) getLive(ctx context.Context, namespace, name string) (*appsv1.ReplicaSet, error) {
	rc, err := s.client.CoreV1().ReplicationControllers(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return asReplicaSet(rc), nil
}

func (s *replicationControllers) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	rc, err := s.lister.ReplicationControllers(rs.Namespace).Get(rs.Name)
	if err != nil {
		return nil, err
	}
	rc = rc.DeepCopy()
	rc.ResourceVersion = rs.ResourceVersion
	rc.Status = corev1.ReplicationControllerStatus{
		Replicas: rs.Status.Replicas, FullyLabeledReplicas: rs.Status.FullyLabeledReplicas,
		ReadyReplicas: rs.Status.ReadyReplicas, AvailableReplicas: rs.Status.AvailableReplicas,
		ObservedGeneration: rs.Status.ObservedGeneration,
	}
	for _, c := range rs.Status.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	out, err := s.client.CoreV1().ReplicationControllers(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return asReplicaSet(out), nil
}

// asReplicaSet is a ReplicationController as the ReplicaSet it amounts to: its
// selector as matchLabels, its template (empty when it has none) and its status.
func asReplicaSet(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: *rc.ObjectMeta.DeepCopy(),
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        rc.Spec.Replicas,
			MinReadySeconds: rc.Spec.MinReadySeconds,
			Selector:        &metav1.LabelSelector{MatchLabels: rc.Spec.Selector},
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas: rc.Status.Replicas, FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas: rc.Status.ReadyReplicas, AvailableReplicas: rc.Status.AvailableReplicas,
			ObservedGeneration: rc.Status.ObservedGeneration,
		},
	}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template.DeepCopy()
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}
