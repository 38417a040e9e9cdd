package auth

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakePods is a PodNodeFunc over a fixed map of "namespace/name" to node name; a pod
// missing from it is an error, as a storage lookup of an absent pod is.
type fakePods struct {
	nodes map[string]string
	calls []string // "namespace/name" of every lookup, in order
}

// podsOn returns pods bound to node in namespace: on-n1 (of namespace default) names
// configmap c in a volume and secret s in an env var.
func (f *fakePods) podsOn(_ context.Context, node, namespace string) []*corev1.Pod {
	if node != "n1" || namespace != "default" && namespace != "" {
		return nil
	}
	return []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "on-n1"}, Spec: corev1.PodSpec{
		NodeName: "n1", ServiceAccountName: "app",
		Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}},
		Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}}},
	}}}
}

func (f *fakePods) podNode(_ context.Context, namespace, name string) (string, error) {
	key := namespace + "/" + name
	f.calls = append(f.calls, key)
	node, ok := f.nodes[key]
	if !ok {
		return "", errors.New("pod " + key + " not found")
	}
	return node, nil
}

var (
	admin = &User{Name: AdminUser, Groups: []string{MastersGroup, "system:authenticated"}}
	n1    = &User{Name: NodeUserPrefix + "n1", Groups: []string{NodesGroup, "system:authenticated"}}
)

func TestNodeAuthorizerAuthorize(t *testing.T) {
	tests := []struct {
		name string
		user *User
		a    Attributes
		want bool
		// lookup is the pod lookup the decision needs ("" for none).
		lookup string
	}{
		// Masters may do everything.
		{name: "admin creates configmap", user: admin, a: Attributes{Verb: "create", Resource: "configmaps", Namespace: "default"}, want: true},
		{name: "admin deletes other node", user: admin, a: Attributes{Verb: "delete", Resource: "nodes", Name: "n2"}, want: true},
		{name: "admin deletes pod without lookup", user: admin, a: Attributes{Verb: "delete", Resource: "pods", Namespace: "default", Name: "unknown"}, want: true},

		// Anyone else but nodes is refused.
		{name: "stranger reads pods", user: &User{Name: "alice", Groups: []string{"system:authenticated"}}, a: Attributes{Verb: "get", Resource: "pods", Namespace: "default", Name: "p"}},
		{name: "node group without node name", user: &User{Name: "alice", Groups: []string{NodesGroup}}, a: Attributes{Verb: "list", Resource: "pods"}},

		// Reads.
		{name: "node lists pods", user: n1, a: Attributes{Verb: "list", Resource: "pods"}, want: true},
		{name: "node watches pods", user: n1, a: Attributes{Verb: "watch", Resource: "pods"}, want: true},
		{name: "node gets other node's pod", user: n1, a: Attributes{Verb: "get", Resource: "pods", Namespace: "default", Name: "on-n2"}, want: true},
		{name: "node gets configmap", user: n1, a: Attributes{Verb: "get", Resource: "configmaps", Namespace: "default", Name: "c"}, want: true},
		{name: "node lists secrets", user: n1, a: Attributes{Verb: "list", Resource: "secrets", Namespace: "default"}},
		{name: "node proxies to another node's agent", user: n1, a: Attributes{Verb: "get", Resource: "nodes", Subresource: "proxy", Name: "n2"}},
		{name: "node posts through its own proxy", user: n1, a: Attributes{Verb: "create", Resource: "nodes", Subresource: "proxy", Name: "n1"}},
		{name: "node updates its status", user: n1, a: Attributes{Verb: "update", Resource: "nodes", Subresource: "status", Name: "n1"}, want: true},
		{name: "node updates another's status", user: n1, a: Attributes{Verb: "update", Resource: "nodes", Subresource: "status", Name: "n2"}},
		{name: "node gets a secret its pod names", user: n1, a: Attributes{Verb: "get", Resource: "secrets", Namespace: "default", Name: "s"}, want: true},
		{name: "node gets a secret no pod of it names", user: n1, a: Attributes{Verb: "get", Resource: "secrets", Namespace: "default", Name: "other"}},
		{name: "node gets the secret in another namespace", user: n1, a: Attributes{Verb: "get", Resource: "secrets", Namespace: "kube-system", Name: "s"}},
		{name: "node gets a configmap no pod of it names", user: n1, a: Attributes{Verb: "get", Resource: "configmaps", Namespace: "default", Name: "s"}},
		{name: "node lists configmaps", user: n1, a: Attributes{Verb: "list", Resource: "configmaps", Namespace: "default"}},
		{name: "node lists serviceaccounts", user: n1, a: Attributes{Verb: "list", Resource: "serviceaccounts"}},
		{name: "node lists events", user: n1, a: Attributes{Verb: "list", Resource: "events"}},
		{name: "node watches services", user: n1, a: Attributes{Verb: "watch", Resource: "services"}, want: true},
		{name: "node gets namespace", user: n1, a: Attributes{Verb: "get", Resource: "namespaces", Name: "default"}, want: true},
		{name: "node lists endpoints", user: n1, a: Attributes{Verb: "list", Resource: "endpoints"}, want: true},
		{name: "node watches endpointslices", user: n1, a: Attributes{Verb: "watch", Group: "discovery.k8s.io", Resource: "endpointslices"}, want: true},
		{name: "node watches networkpolicies", user: n1, a: Attributes{Verb: "watch", Group: "networking.k8s.io", Resource: "networkpolicies"}, want: true},
		{name: "node deletes an endpointslice", user: n1, a: Attributes{Verb: "delete", Group: "discovery.k8s.io", Resource: "endpointslices", Namespace: "default", Name: "s"}},
		{name: "node gets other node", user: n1, a: Attributes{Verb: "get", Resource: "nodes", Name: "n2"}, want: true},
		{name: "node reads configmaps of another group", user: n1, a: Attributes{Verb: "get", Group: "example.com", Resource: "configmaps", Namespace: "default", Name: "c"}},

		// Writes it may not do.
		{name: "node creates configmap", user: n1, a: Attributes{Verb: "create", Resource: "configmaps", Namespace: "default"}},
		{name: "node updates configmap", user: n1, a: Attributes{Verb: "update", Resource: "configmaps", Namespace: "default", Name: "c"}},
		{name: "node deletes secret", user: n1, a: Attributes{Verb: "delete", Resource: "secrets", Namespace: "default", Name: "s"}},
		{name: "node creates namespace", user: n1, a: Attributes{Verb: "create", Resource: "namespaces"}},
		{name: "node creates pod", user: n1, a: Attributes{Verb: "create", Resource: "pods", Namespace: "default"}},
		{name: "node updates its pod", user: n1, a: Attributes{Verb: "update", Resource: "pods", Namespace: "default", Name: "on-n1"}},
		{name: "node patches its pod", user: n1, a: Attributes{Verb: "patch", Resource: "pods", Namespace: "default", Name: "on-n1"}},
		{name: "node deletes pods collection", user: n1, a: Attributes{Verb: "deletecollection", Resource: "pods", Namespace: "default"}},
		{name: "node binds pod", user: n1, a: Attributes{Verb: "create", Resource: "pods", Subresource: "binding", Namespace: "default", Name: "on-n1"}},
		{name: "node execs into pod", user: n1, a: Attributes{Verb: "get", Resource: "pods", Subresource: "exec", Namespace: "default", Name: "on-n1"}},
		{name: "node deletes events", user: n1, a: Attributes{Verb: "delete", Resource: "events", Namespace: "default", Name: "e"}},
		{name: "node reads deployments", user: n1, a: Attributes{Verb: "list", Group: "apps", Resource: "deployments"}},

		// The graph beyond secrets and configmaps: claims, their volumes, tokens.
		{name: "node gets its pod's claim", user: n1, a: Attributes{Verb: "get", Resource: "persistentvolumeclaims", Namespace: "default", Name: "data"}, want: true},
		{name: "node gets its pod's ephemeral claim", user: n1, a: Attributes{Verb: "get", Resource: "persistentvolumeclaims", Namespace: "default", Name: "on-n1-scratch"}, want: true},
		{name: "node gets another claim", user: n1, a: Attributes{Verb: "get", Resource: "persistentvolumeclaims", Namespace: "default", Name: "other"}},
		{name: "node lists claims", user: n1, a: Attributes{Verb: "list", Resource: "persistentvolumeclaims", Namespace: "default"}},
		{name: "node gets its claim's volume", user: n1, a: Attributes{Verb: "get", Resource: "persistentvolumes", Name: "pv-data"}, want: true},
		{name: "node gets another volume", user: n1, a: Attributes{Verb: "get", Resource: "persistentvolumes", Name: "pv-other"}},
		{name: "node asks for its pod's account's token", user: n1, a: Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "app"}, want: true},
		{name: "node asks for another account's token", user: n1, a: Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: "default", Name: "admin"}},
		{name: "node asks for a certificate", user: n1, a: Attributes{Verb: "create", Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}, want: true},
		{name: "node approves a certificate", user: n1, a: Attributes{Verb: "update", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval", Name: "x"}},
		{name: "node reviews access", user: n1, a: Attributes{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}, want: true},

		// Its own Node.
		{name: "node creates a node", user: n1, a: Attributes{Verb: "create", Resource: "nodes"}, want: true},
		{name: "node updates itself", user: n1, a: Attributes{Verb: "update", Resource: "nodes", Name: "n1"}, want: true},
		{name: "node patches itself", user: n1, a: Attributes{Verb: "patch", Resource: "nodes", Name: "n1"}, want: true},
		{name: "node patches its status", user: n1, a: Attributes{Verb: "patch", Resource: "nodes", Subresource: "status", Name: "n1"}, want: true},
		{name: "node updates other node", user: n1, a: Attributes{Verb: "update", Resource: "nodes", Name: "n2"}},
		{name: "node patches other node's status", user: n1, a: Attributes{Verb: "patch", Resource: "nodes", Subresource: "status", Name: "n2"}},
		{name: "node deletes itself", user: n1, a: Attributes{Verb: "delete", Resource: "nodes", Name: "n1"}},
		{name: "node deletes other node", user: n1, a: Attributes{Verb: "delete", Resource: "nodes", Name: "n2"}},

		// Its own Lease, in kube-node-lease.
		{name: "node gets lease", user: n1, a: Attributes{Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n1"}, want: true},
		{name: "node creates lease", user: n1, a: Attributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease"}, want: true},
		{name: "node updates its lease", user: n1, a: Attributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n1"}, want: true},
		{name: "node updates other node's lease", user: n1, a: Attributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n2"}},
		{name: "node deletes other node's lease", user: n1, a: Attributes{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n2"}},
		{name: "node creates lease elsewhere", user: n1, a: Attributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: "default"}},
		{name: "node updates lease named after it elsewhere", user: n1, a: Attributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", Name: "n1"}},
		{name: "node lists leases of all namespaces", user: n1, a: Attributes{Verb: "list", Group: "coordination.k8s.io", Resource: "leases"}},

		// Pods bound to it.
		{name: "node updates its pod's status", user: n1, a: Attributes{Verb: "update", Resource: "pods", Subresource: "status", Namespace: "default", Name: "on-n1"}, want: true, lookup: "default/on-n1"},
		{name: "node patches its pod's status", user: n1, a: Attributes{Verb: "patch", Resource: "pods", Subresource: "status", Namespace: "default", Name: "on-n1"}, want: true, lookup: "default/on-n1"},
		{name: "node deletes its pod", user: n1, a: Attributes{Verb: "delete", Resource: "pods", Namespace: "default", Name: "on-n1"}, want: true, lookup: "default/on-n1"},
		{name: "node updates other node's pod status", user: n1, a: Attributes{Verb: "update", Resource: "pods", Subresource: "status", Namespace: "default", Name: "on-n2"}, lookup: "default/on-n2"},
		{name: "node deletes other node's pod", user: n1, a: Attributes{Verb: "delete", Resource: "pods", Namespace: "default", Name: "on-n2"}, lookup: "default/on-n2"},
		{name: "node deletes unbound pod", user: n1, a: Attributes{Verb: "delete", Resource: "pods", Namespace: "default", Name: "unbound"}, lookup: "default/unbound"},
		{name: "node deletes missing pod", user: n1, a: Attributes{Verb: "delete", Resource: "pods", Namespace: "default", Name: "gone"}, lookup: "default/gone"},
		{name: "same name in another namespace", user: n1, a: Attributes{Verb: "delete", Resource: "pods", Namespace: "other", Name: "on-n1"}, lookup: "other/on-n1"},

		// Events.
		{name: "node creates event", user: n1, a: Attributes{Verb: "create", Resource: "events", Namespace: "default"}, want: true},
		{name: "node patches event", user: n1, a: Attributes{Verb: "patch", Resource: "events", Namespace: "default", Name: "e"}, want: true},
		{name: "node creates events.k8s.io event", user: n1, a: Attributes{Verb: "create", Group: "events.k8s.io", Resource: "events", Namespace: "default"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pods := &fakePods{nodes: map[string]string{
				"default/on-n1":   "n1",
				"default/on-n2":   "n2",
				"default/unbound": "",
				"other/on-n1":     "n2",
			}}
			az := NewNodeAuthorizer(pods.podNode, pods.podsOn)
			az.ClaimVolume = func(_ context.Context, namespace, name string) string {
				if namespace == "default" && name == "data" {
					return "pv-data"
				}
				return ""
			}
			got, reason := az.Authorize(context.Background(), tt.user, tt.a)
			if got != tt.want {
				t.Errorf("Authorize(%s, %+v) = %v (%q), want %v", tt.user.Name, tt.a, got, reason, tt.want)
			}
			if _, isNode := tt.user.NodeName(); !got && isNode && reason == "" {
				t.Error("a node refused without a reason")
			}
			if got && reason != "" {
				t.Errorf("allowed with reason %q", reason)
			}
			var wantCalls []string
			if tt.lookup != "" {
				wantCalls = []string{tt.lookup}
			}
			if len(pods.calls) != len(wantCalls) || (len(wantCalls) == 1 && pods.calls[0] != wantCalls[0]) {
				t.Errorf("pod lookups = %q, want %q", pods.calls, wantCalls)
			}
		})
	}
}

func TestCheckCreate(t *testing.T) {
	tests := []struct {
		name    string
		user    *User
		a       Attributes
		objName string
		want    bool
	}{
		{name: "admin creates any node", user: admin, a: Attributes{Verb: "create", Resource: "nodes"}, objName: "n2", want: true},
		{name: "admin creates any lease", user: admin, a: Attributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, objName: "n2", want: true},
		{name: "node creates its Node", user: n1, a: Attributes{Verb: "create", Resource: "nodes"}, objName: "n1", want: true},
		{name: "node creates other Node", user: n1, a: Attributes{Verb: "create", Resource: "nodes"}, objName: "n2"},
		{name: "node creates Node with generated name", user: n1, a: Attributes{Verb: "create", Resource: "nodes"}, objName: ""},
		{name: "node creates its Lease", user: n1, a: Attributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, objName: "n1", want: true},
		{name: "node creates other Lease", user: n1, a: Attributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}, objName: "n2"},
		{name: "node creates event with any name", user: n1, a: Attributes{Verb: "create", Resource: "events"}, objName: "p.1234", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := CheckCreate(tt.user, tt.a, tt.objName)
			if got != tt.want {
				t.Errorf("CheckCreate(%s, %+v, %q) = %v (%q), want %v", tt.user.Name, tt.a, tt.objName, got, reason, tt.want)
			}
			if _, isNode := tt.user.NodeName(); !got && isNode && reason == "" {
				t.Error("a node refused without a reason")
			}
		})
	}
}
