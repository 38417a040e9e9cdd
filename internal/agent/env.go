package agent

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// configError is a container that cannot be configured (a missing ConfigMap key, say):
// it waits with CreateContainerConfigError and this message.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// objectSource reads the ConfigMaps, Secrets and Services pods refer to, and knows the
// node's allocatable resources (the downward API's default for limits not set).
type objectSource struct {
	client      kubernetes.Interface
	allocatable corev1.ResourceList
	// tokens are the service account tokens of projected volumes.
	tokens *tokens
	// services, when set, reads Services from the agent's informer once
	// servicesSynced says it has them all, as upstream's kubelet does: a container start
	// then asks the API server for nothing. Before that, the API answers.
	services       corelisters.ServiceLister
	servicesSynced func() bool
}

// listServices returns the Services of a namespace, and the default namespace's
// kubernetes Service when withKubernetes.
func (s objectSource) listServices(ctx context.Context, namespace string, withKubernetes bool) []corev1.Service {
	var out []corev1.Service
	if s.services != nil && s.servicesSynced() {
		l, _ := s.services.Services(namespace).List(labels.Everything())
		for _, svc := range l {
			out = append(out, *svc)
		}
		if withKubernetes {
			if k, err := s.services.Services(metav1.NamespaceDefault).Get("kubernetes"); err == nil {
				out = append(out, *k)
			}
		}
		return out
	}
	if l, err := s.client.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{}); err == nil {
		out = l.Items
	}
	if withKubernetes {
		if k, err := s.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
			out = append(out, *k)
		}
	}
	return out
}

func (s objectSource) configMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return s.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func (s objectSource) secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return s.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

// containerEnv resolves a container's environment as upstream's kubelet does: service
// links first (when enabled), then envFrom, then env, later entries winning.
func containerEnv(ctx context.Context, src objectSource, pod *corev1.Pod, c *corev1.Container, hostIP string) ([]corev1.EnvVar, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		for _, kv := range serviceEnv(ctx, src, pod.Namespace) {
			set(kv.Name, kv.Value)
		}
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := src.configMap(ctx, pod.Namespace, from.ConfigMapRef.Name)
			if err != nil {
				if optional(from.ConfigMapRef.Optional) && apierrors.IsNotFound(err) {
					continue
				}
				return nil, refError("configmap", from.ConfigMapRef.Name, err)
			}
			for k, v := range cm.Data {
				set(from.Prefix+k, v)
			}
		case from.SecretRef != nil:
			sec, err := src.secret(ctx, pod.Namespace, from.SecretRef.Name)
			if err != nil {
				if optional(from.SecretRef.Optional) && apierrors.IsNotFound(err) {
					continue
				}
				return nil, refError("secret", from.SecretRef.Name, err)
			}
			for k, v := range sec.Data {
				set(from.Prefix+k, string(v))
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, ok, err := envValue(ctx, src, pod, c, e.ValueFrom, hostIP)
		if err != nil {
			return nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	out := make([]corev1.EnvVar, 0, len(order))
	for _, k := range order {
		out = append(out, corev1.EnvVar{Name: k, Value: vars[k]})
	}
	return out, nil
}

func optional(b *bool) bool { return b != nil && *b }

func refError(kind, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return &configError{msg: fmt.Sprintf("%s %q not found", kind, name)}
	}
	return err
}

// envValue resolves one valueFrom; ok is false for an optional reference that is absent.
func envValue(ctx context.Context, src objectSource, pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource, hostIP string) (string, bool, error) {
	switch {
	case from.FieldRef != nil:
		v, err := fieldValue(pod, from.FieldRef.FieldPath, hostIP)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := resourceValue(c, from.ResourceFieldRef, src.allocatable)
		return v, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := src.configMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if optional(ref.Optional) && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, refError("configmap", ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{msg: fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
		}
		return v, true, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		sec, err := src.secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if optional(ref.Optional) && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, refError("secret", ref.Name, err)
		}
		v, ok := sec.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{msg: fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
		}
		return string(v), true, nil
	}
	return "", false, nil
}

// fieldValue resolves a downward API field path.
func fieldValue(pod *corev1.Pod, path, hostIP string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return hostIP, nil
	case "status.hostIPs":
		return hostIP, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		var ips []string
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if key, ok := strings.CutPrefix(path, prefix); ok && strings.HasSuffix(key, "']") {
			key = strings.TrimSuffix(key, "']")
			if prefix == "metadata.labels['" {
				return pod.Labels[key], nil
			}
			return pod.Annotations[key], nil
		}
	}
	return "", &configError{msg: fmt.Sprintf("unsupported fieldPath: %s", path)}
}

// formatMap writes a map as the downward API does: key="value" lines, sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// resourceValue resolves a resourceFieldRef in the divisor's units, rounding up. A limit
// the container does not set is the node's allocatable amount, as upstream.
func resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	limit := func(name corev1.ResourceName) resource.Quantity {
		if q, ok := c.Resources.Limits[name]; ok {
			return q
		}
		return allocatable[name]
	}
	var q resource.Quantity
	switch ref.Resource {
	case "limits.cpu":
		q = limit(corev1.ResourceCPU)
	case "limits.memory":
		q = limit(corev1.ResourceMemory)
	case "requests.cpu":
		q = c.Resources.Requests[corev1.ResourceCPU]
	case "requests.memory":
		q = c.Resources.Requests[corev1.ResourceMemory]
	case "limits.ephemeral-storage":
		q = limit(corev1.ResourceEphemeralStorage)
	case "requests.ephemeral-storage":
		q = c.Resources.Requests[corev1.ResourceEphemeralStorage]
	default:
		return "", &configError{msg: fmt.Sprintf("unsupported container resource: %s", ref.Resource)}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if strings.HasPrefix(ref.Resource, "limits.cpu") || strings.HasPrefix(ref.Resource, "requests.cpu") {
		m := (q.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue()
		if m == 0 && strings.HasPrefix(ref.Resource, "limits.") {
			m = 1
		}
		return strconv.FormatInt(m, 10), nil
	}
	v := (q.Value() + divisor.Value() - 1) / divisor.Value()
	return strconv.FormatInt(v, 10), nil
}

// expand replaces $(VAR) with earlier variables, leaving unknown references, and turns
// $$ into $, as upstream does.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envMap indexes a container's resolved environment by name.
func envMap(env []corev1.EnvVar) map[string]string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

// expandAll expands $(VAR) references in each of args; nil stays nil.
func expandAll(args []string, vars map[string]string) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = expand(a, vars)
	}
	return out
}

// serviceEnv returns the Docker-link style variables of the namespace's services and
// the kubernetes service, as upstream's kubelet sets them.
func serviceEnv(ctx context.Context, src objectSource, namespace string) []corev1.EnvVar {
	svcs := src.listServices(ctx, namespace, namespace != metav1.NamespaceDefault)
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].Name < svcs[j].Name })
	var out []corev1.EnvVar
	for _, s := range svcs {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		first := s.Spec.Ports[0]
		out = append(out,
			corev1.EnvVar{Name: name + "_SERVICE_HOST", Value: ip},
			corev1.EnvVar{Name: name + "_SERVICE_PORT", Value: strconv.Itoa(int(first.Port))})
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				out = append(out, corev1.EnvVar{Name: name + "_SERVICE_PORT_" + strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_")), Value: strconv.Itoa(int(p.Port))})
			}
		}
		proto := strings.ToLower(string(first.Protocol))
		out = append(out, corev1.EnvVar{Name: name + "_PORT", Value: fmt.Sprintf("%s://%s:%d", proto, ip, first.Port)})
		for _, p := range s.Spec.Ports {
			pp := strings.ToLower(string(p.Protocol))
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(pp))
			out = append(out,
				corev1.EnvVar{Name: prefix, Value: fmt.Sprintf("%s://%s:%d", pp, ip, p.Port)},
				corev1.EnvVar{Name: prefix + "_PROTO", Value: pp},
				corev1.EnvVar{Name: prefix + "_PORT", Value: strconv.Itoa(int(p.Port))},
				corev1.EnvVar{Name: prefix + "_ADDR", Value: ip})
		}
	}
	return out
}
