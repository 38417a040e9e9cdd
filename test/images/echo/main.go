// Command echo is the test image that stands in for the seed's ghcr.io/subicura/echo:v1:
// an HTTP server on port 3000 that answers every request with what it received, and a
// gRPC health service on port 3001 for grpc probes.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	ln, err := net.Listen("tcp", ":3001")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()

	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host: %s\nmethod: %s\npath: %s\n", host, r.Method, r.URL.Path)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s: %s\n", k, r.Header.Get(k))
		}
		log.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL.Path)
	})
	log.Printf("listening on :3000")
	log.Fatal(http.ListenAndServe(":3000", nil))
}
