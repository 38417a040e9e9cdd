package quota

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/resourcequota"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestAdmissionCheckRequest drives the evaluators through upstream's ResourceQuota
// admission check with external objects, as podium's admission gives them.
func TestAdmissionCheckRequest(t *testing.T) {
	cfg := NewConfiguration(newStore().list, clocktesting.NewFakePassiveClock(epoch))
	evaluator := func(gr schema.GroupResource) int {
		for i, e := range cfg.Evaluators() {
			if e.GroupResource() == gr {
				return i
			}
		}
		t.Fatalf("no evaluator for %s", gr)
		return -1
	}
	quota := func(hard, used corev1.ResourceList) []corev1.ResourceQuota {
		return []corev1.ResourceQuota{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "q", ResourceVersion: "1"},
			Spec:       corev1.ResourceQuotaSpec{Hard: hard},
			Status:     corev1.ResourceQuotaStatus{Hard: hard, Used: used},
		}}
	}
	create := func(obj runtime.Object, gvr schema.GroupVersionResource) admission.Attributes {
		return admission.NewAttributesRecord(obj, nil, schema.GroupVersionKind{}, "ns", "x", gvr, "", admission.Create, nil, false, nil)
	}
	withOverhead := pod("p", container("app", rl("cpu", "400m"), rl("cpu", "400m")))
	withOverhead.Spec.Overhead = rl("cpu", "100m")

	tests := []struct {
		name     string
		quotas   []corev1.ResourceQuota
		attrs    admission.Attributes
		wantErr  string // substring, "" for none
		wantUsed corev1.ResourceList
	}{{
		name:     "pod fits",
		quotas:   quota(rl("pods", "2", "requests.cpu", "1", "limits.cpu", "1"), rl("pods", "1", "requests.cpu", "500m", "limits.cpu", "500m")),
		attrs:    create(withOverhead, podsResource),
		wantUsed: rl("pods", "2", "requests.cpu", "1", "limits.cpu", "1"),
	}, {
		name:    "pod exceeds",
		quotas:  quota(rl("requests.cpu", "1"), rl("requests.cpu", "600m")),
		attrs:   create(withOverhead, podsResource),
		wantErr: "exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1",
	}, {
		name:    "pod misses a limit",
		quotas:  quota(rl("limits.cpu", "4"), rl("limits.cpu", "0")),
		attrs:   create(pod("p", container("app", rl("cpu", "1"), nil)), podsResource),
		wantErr: "failed quota: q: must specify limits.cpu for: app",
	}, {
		name:    "node ports",
		quotas:  quota(rl("services.nodeports", "1"), rl("services.nodeports", "0")),
		attrs:   create(service("s", corev1.ServiceTypeNodePort, 0, 0), servicesResource),
		wantErr: "exceeded quota: q, requested: services.nodeports=2",
	}, {
		name:     "claim by class",
		quotas:   quota(rl("gold.storageclass.storage.k8s.io/requests.storage", "10Gi"), rl("gold.storageclass.storage.k8s.io/requests.storage", "2Gi")),
		attrs:    create(claim("c", "gold", "8Gi"), pvcsResource),
		wantUsed: rl("gold.storageclass.storage.k8s.io/requests.storage", "10Gi"),
	}, {
		name:     "configmap by legacy name",
		quotas:   quota(rl("configmaps", "1"), rl("configmaps", "0")),
		attrs:    create(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}}, corev1.SchemeGroupVersion.WithResource("configmaps")),
		wantUsed: rl("configmaps", "1"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfg.Evaluators()[evaluator(tt.attrs.GetResource().GroupResource())]
			out, err := resourcequota.CheckRequest(tt.quotas, tt.attrs, e, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CheckRequest() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckRequest() error = %v", err)
			}
			wantUsage(t, out[0].Status.Used, tt.wantUsed)
		})
	}
}
