package registry

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestIntOrPercent(t *testing.T) {
	tests := []struct {
		name      string
		v         intstr.IntOrString
		wantValue int
		wantErrs  []string // each error's field and detail
	}{
		{name: "integer", v: intstr.FromInt32(3), wantValue: 3},
		{name: "percent", v: intstr.FromString("25%"), wantValue: 25},
		{name: "negative", v: intstr.FromInt32(-1), wantValue: -1, wantErrs: []string{"x: must be greater than or equal to 0"}},
		{name: "not a percent", v: intstr.FromString("25"), wantValue: 25, wantErrs: []string{
			"x: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"}},
		{name: "garbage", v: intstr.FromString("abc"), wantValue: 0, wantErrs: []string{
			"x: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"}},
		{name: "over 100%", v: intstr.FromString("150%"), wantValue: 150, wantErrs: []string{"x: must not be greater than 100%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IntOrPercentValue(tt.v); got != tt.wantValue {
				t.Errorf("IntOrPercentValue = %d, want %d", got, tt.wantValue)
			}
			p := field.NewPath("x")
			errs := append(ValidateIntOrPercent(tt.v, p), ValidateAtMost100Percent(tt.v, p)...)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field+": "+e.Detail)
			}
			if len(got) != len(tt.wantErrs) {
				t.Fatalf("errors %q, want %q", got, tt.wantErrs)
			}
			for i := range got {
				if got[i] != tt.wantErrs[i] {
					t.Errorf("error %d: %q, want %q", i, got[i], tt.wantErrs[i])
				}
			}
		})
	}
}

func TestSelectorString(t *testing.T) {
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want string
	}{
		{name: "none", want: ""},
		{name: "labels", sel: &metav1.LabelSelector{MatchLabels: map[string]string{"b": "2", "a": "1"}}, want: "a=1,b=2"},
		{name: "expressions", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"db", "cache"}}}}, want: "tier in (cache,db)"},
		{name: "invalid", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Near"}}}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SelectorString(tt.sel); got != tt.want {
				t.Errorf("SelectorString = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateCollisionCountUpdate(t *testing.T) {
	one, two := int32(1), int32(2)
	tests := []struct {
		name       string
		count, old *int32
		wantErr    bool
	}{
		{name: "unset", wantErr: false},
		{name: "set", count: &one, wantErr: false},
		{name: "raised", count: &two, old: &one, wantErr: false},
		{name: "lowered", count: &one, old: &two, wantErr: true},
		{name: "removed", old: &one, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateCollisionCountUpdate(tt.count, tt.old, field.NewPath("status", "collisionCount"))
			if (len(errs) > 0) != tt.wantErr {
				t.Errorf("errors %v, want error %v", errs, tt.wantErr)
			}
		})
	}
}
