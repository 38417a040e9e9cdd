package warning

import (
	"context"
	"sync"
)

type key struct{}

// sink gathers a request's warnings.
type sink struct {
	mu   sync.Mutex
	msgs []string
}

// NewContext returns ctx able to gather warnings.
func NewContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, &sink{})
}

// Add records a warning for ctx's request; without NewContext it is dropped.
func Add(ctx context.Context, msg string) {
	if s, ok := ctx.Value(key{}).(*sink); ok && msg != "" {
		s.mu.Lock()
		s.msgs = append(s.msgs, msg)
		s.mu.Unlock()
	}
}

// From returns the warnings gathered for ctx's request.
func From(ctx context.Context) []string {
	s, ok := ctx.Value(key{}).(*sink)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}
