package registry

import (
	"testing"
	"time"
)

func TestSince(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{name: "zero", want: "<unknown>"},
		{name: "seconds", t: now.Add(-42 * time.Second), want: "42s"},
		{name: "minutes", t: now.Add(-3*time.Minute - 2*time.Second), want: "3m2s"},
		{name: "days", t: now.Add(-5 * 24 * time.Hour), want: "5d"},
		{name: "future", t: now.Add(time.Minute), want: "<invalid>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Since(tt.t, now); got != tt.want {
				t.Errorf("Since = %q, want %q", got, tt.want)
			}
		})
	}
}
