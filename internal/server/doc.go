// Package server provides `podium server`: it wires the embedded (or an external) etcd,
// the credentials, the API server and the bootstrap objects together, serves the API
// over TLS, and stops it all cleanly when its context ends.
package server
