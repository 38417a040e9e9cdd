// Package serviceaccount provides the strategy for core/v1 service accounts. References
// to secrets are kept by name only.
package serviceaccount
