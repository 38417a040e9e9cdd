package admission

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
)

// The service account volume, as upstream's admission makes it.
const (
	// TokenMountPath is where containers find the token, the CA and the namespace.
	TokenMountPath    = "/var/run/secrets/kubernetes.io/serviceaccount"
	tokenVolumePrefix = "kube-api-access-"
	// TokenExpirationSeconds is the token's life: an hour and seven seconds, the
	// number upstream picks so that its tokens can be told apart.
	TokenExpirationSeconds = 3607
	rootCAConfigMap        = "kube-root-ca.crt"
	defaultAccount         = "default"
)

// ServiceAccounts is the admission of new pods, as upstream's ServiceAccount plugin: a
// pod runs as the namespace's "default" account unless it names one, the account must
// exist, and unless the pod or the account opts out, every container gets the account's
// token, the cluster CA and the namespace at TokenMountPath through a projected volume
// (kube-api-access-XXXXX) that the agent keeps fresh.
type ServiceAccounts struct {
	// Get returns a namespace's service account.
	Get func(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
}

// AdmitCreate fills in the account and its token volume.
func (s ServiceAccounts) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = defaultAccount
	}
	sa, err := s.Get(ctx, pod.Namespace, pod.Spec.ServiceAccountName)
	switch {
	case apierrors.IsNotFound(err) && pod.Spec.ServiceAccountName == defaultAccount:
		// The namespace's default account is made by a controller just after the
		// namespace: a pod created in that moment gets its token once it exists.
		sa = &corev1.ServiceAccount{}
	case err != nil:
		return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, pod.Name,
			fmt.Errorf("error looking up service account %s/%s: %w", pod.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if len(pod.Spec.ImagePullSecrets) == 0 {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, sa.ImagePullSecrets...)
	}
	automount := true
	if sa.AutomountServiceAccountToken != nil {
		automount = *sa.AutomountServiceAccountToken
	}
	if pod.Spec.AutomountServiceAccountToken != nil {
		automount = *pod.Spec.AutomountServiceAccountToken
	}
	if automount {
		mountToken(pod)
	}
	return nil
}

// AdmitUpdate admits every update: the account of a pod does not change.
func (ServiceAccounts) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }

// mountToken adds the token volume and mounts it in every container that mounts nothing
// at TokenMountPath already.
func mountToken(pod *corev1.Pod) {
	name := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, tokenVolumePrefix) && v.Projected != nil {
			name = v.Name // the pod has one already (say, a copy of another pod)
		}
	}
	if name == "" {
		taken := map[string]bool{}
		for _, v := range pod.Spec.Volumes {
			taken[v.Name] = true
		}
		for name == "" || taken[name] {
			name = tokenVolumePrefix + utilrand.String(5)
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](0o644), Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](TokenExpirationSeconds), Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: rootCAConfigMap},
					Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
			}}}})
	}
	mount := func(c *corev1.Container) {
		for _, m := range c.VolumeMounts {
			if m.MountPath == TokenMountPath {
				return
			}
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: TokenMountPath})
	}
	for i := range pod.Spec.InitContainers {
		mount(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		mount(&pod.Spec.Containers[i])
	}
}
