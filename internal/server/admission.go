package server

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/admission"
	"github.com/podium/podium/internal/apiserver"
	podregistry "github.com/podium/podium/internal/registry/pod"
	"github.com/podium/podium/internal/storage"
)

// admitPods sets up the admission of pods and of what holds pod templates, in
// upstream's order: the service account (mutating), then Pod Security, then a resize's
// fit on its node.
func admitPods(api *apiserver.Server, store *storage.Store) error {
	accounts := admission.ServiceAccounts{Get: func(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
		sa := &corev1.ServiceAccount{}
		err := store.Get(ctx, storage.Key("serviceaccounts", namespace, name), sa)
		if errors.Is(err, storage.ErrNotFound) {
			err = apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, name)
		}
		return sa, err
	}}
	security, err := admission.NewPodSecurity(admission.PodSecurityConfig{
		Namespace: func(ctx context.Context, name string) (*corev1.Namespace, error) {
			ns := &corev1.Namespace{}
			err := store.Get(ctx, storage.Key("namespaces", "", name), ns)
			if errors.Is(err, storage.ErrNotFound) {
				err = apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
			}
			return ns, err
		},
		Pods: func(_ context.Context, namespace string) ([]*corev1.Pod, error) {
			var out []*corev1.Pod
			for _, obj := range api.CachedIn(schema.GroupResource{Resource: "pods"}, namespace) {
				if p, ok := obj.(*corev1.Pod); ok {
					out = append(out, p)
				}
			}
			return out, nil
		},
	})
	if err != nil {
		return err
	}
	resize := podregistry.ResizeAdmitter{Node: func(name string) *corev1.Node {
		if n, ok := api.CachedObject(schema.GroupResource{Resource: "nodes"}, "", name); ok {
			return n.(*corev1.Node)
		}
		return nil
	}}
	classes := func() []*schedulingv1.PriorityClass {
		var out []*schedulingv1.PriorityClass
		for _, obj := range api.Cached(schema.GroupResource{Group: schedulingv1.GroupName, Resource: "priorityclasses"}) {
			out = append(out, obj.(*schedulingv1.PriorityClass))
		}
		return out
	}
	api.Admit(schema.GroupResource{Group: schedulingv1.GroupName, Resource: "priorityclasses"}, admission.PriorityClasses{Classes: classes})
	runtimeClasses := admission.RuntimeClasses{Get: func(name string) *nodev1.RuntimeClass {
		if obj, ok := api.CachedObject(schema.GroupResource{Group: nodev1.GroupName, Resource: "runtimeclasses"}, "", name); ok {
			return obj.(*nodev1.RuntimeClass)
		}
		return nil
	}}
	limits := admission.LimitRanges{In: func(namespace string) []*corev1.LimitRange {
		var out []*corev1.LimitRange
		for _, obj := range api.CachedIn(schema.GroupResource{Resource: "limitranges"}, namespace) {
			out = append(out, obj.(*corev1.LimitRange))
		}
		return out
	}}
	api.Admit(schema.GroupResource{Resource: "pods"}, apiserver.Admitters{accounts, limits, admission.Priority{Classes: classes}, runtimeClasses,
		security.For(corev1.SchemeGroupVersion.WithResource("pods"), "Pod"), resize})
	defaultClass := admission.DefaultStorageClass{Classes: func() []*storagev1.StorageClass {
		var out []*storagev1.StorageClass
		for _, obj := range api.Cached(schema.GroupResource{Group: storagev1.GroupName, Resource: "storageclasses"}) {
			out = append(out, obj.(*storagev1.StorageClass))
		}
		return out
	}}
	resizeClaims := admission.ClaimResize{Class: func(name string) *storagev1.StorageClass {
		for _, sc := range defaultClass.Classes() {
			if sc.Name == name {
				return sc
			}
		}
		return nil
	}}
	api.Admit(schema.GroupResource{Resource: "persistentvolumeclaims"}, apiserver.Admitters{defaultClass, admission.StorageInUseProtection{}, limits, resizeClaims})
	api.Admit(schema.GroupResource{Resource: "persistentvolumes"}, admission.StorageInUseProtection{})
	api.Admit(schema.GroupResource{Resource: "namespaces"}, security.For(corev1.SchemeGroupVersion.WithResource("namespaces"), "Namespace"))
	for gvr, kind := range map[schema.GroupVersionResource]string{
		corev1.SchemeGroupVersion.WithResource("replicationcontrollers"): "ReplicationController",
		corev1.SchemeGroupVersion.WithResource("podtemplates"):           "PodTemplate",
		appsv1.SchemeGroupVersion.WithResource("replicasets"):            "ReplicaSet",
		appsv1.SchemeGroupVersion.WithResource("deployments"):            "Deployment",
		appsv1.SchemeGroupVersion.WithResource("statefulsets"):           "StatefulSet",
		appsv1.SchemeGroupVersion.WithResource("daemonsets"):             "DaemonSet",
		batchv1.SchemeGroupVersion.WithResource("jobs"):                  "Job",
		batchv1.SchemeGroupVersion.WithResource("cronjobs"):              "CronJob",
	} {
		api.Admit(gvr.GroupResource(), security.For(gvr, kind))
	}
	return nil
}
