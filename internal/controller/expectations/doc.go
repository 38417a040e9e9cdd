// Package expectations records the pod creations and deletions a controller has issued
// and not yet seen in its informer, so that it does not act twice on a stale cache.
package expectations
