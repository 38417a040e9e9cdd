package resourcename

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name                              corev1.ResourceName
		native, extended, huge, quotaHuge bool
	}{
		{"cpu", true, false, false, false},
		{"hugepages-2Mi", true, false, true, true},
		{"requests.hugepages-2Mi", true, false, false, true},
		{"kubernetes.io/something", true, false, false, false},
		{"example.com/gpu", false, true, false, false},
		{"requests.example.com/gpu", false, false, false, false},
	} {
		if IsNative(tc.name) != tc.native || IsExtended(tc.name) != tc.extended || IsHugePages(tc.name) != tc.huge || IsQuotaHugePages(tc.name) != tc.quotaHuge {
			t.Errorf("%s: native %v extended %v hugepages %v quota hugepages %v", tc.name,
				IsNative(tc.name), IsExtended(tc.name), IsHugePages(tc.name), IsQuotaHugePages(tc.name))
		}
	}
	got := Sorted(corev1.ResourceList{"memory": resource.MustParse("1"), "cpu": resource.MustParse("1")})
	if !slices.Equal(got, []corev1.ResourceName{"cpu", "memory"}) {
		t.Errorf("Sorted: %v", got)
	}
}
