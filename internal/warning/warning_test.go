package warning

import (
	"context"
	"slices"
	"testing"
)

func TestWarnings(t *testing.T) {
	Add(context.Background(), "dropped") // no sink: nothing happens
	if got := From(context.Background()); got != nil {
		t.Errorf("From without a sink = %v", got)
	}
	ctx := NewContext(context.Background())
	Add(ctx, "first")
	Add(ctx, "")
	Add(ctx, "second")
	if got := From(ctx); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("From = %v", got)
	}
}
