package dryrun

import (
	"context"
	"testing"
)

func TestDryRun(t *testing.T) {
	ctx := context.Background()
	if From(ctx) || From(With(ctx, false)) || !From(With(ctx, true)) {
		t.Fatal("dry run not carried as given")
	}
}
