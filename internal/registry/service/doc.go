// Package service provides the strategy for core/v1 services. It defaults and validates
// services as upstream does but allocates nothing: the API server assigns cluster IPs and
// node ports between PrepareForCreate and Default, and the strategy carries them over
// when an update leaves them out.
package service
