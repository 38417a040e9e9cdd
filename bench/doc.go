// Package bench provides the benchmarks that `make bench` runs: each starts the real
// podium binary, drives it with client-go, and prints figures beside the same figure
// for the raw floor (etcd alone) measured in the same run, since these machines are
// shared and noisy.
package bench
