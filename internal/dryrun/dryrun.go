// Package dryrun carries whether an API write is a dry run (dryRun=All) from the API
// server to admission, whose webhooks and policies are told so: a webhook with side
// effects is not called for a dry run, and the others see dryRun true.
package dryrun

import "context"

type key struct{}

// With returns ctx marked as a dry run, or not.
func With(ctx context.Context, dryRun bool) context.Context {
	if !dryRun {
		return ctx
	}
	return context.WithValue(ctx, key{}, true)
}

// From reports whether ctx's write is a dry run.
func From(ctx context.Context) bool {
	v, _ := ctx.Value(key{}).(bool)
	return v
}
