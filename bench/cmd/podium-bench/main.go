// Command podium-bench runs podium's benchmarks and prints their figures.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podium/podium/bench"
)

func main() {
	bin := os.Getenv("PODIUM_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("bin")
	}
	opts := bench.ControlPlaneOptions{}
	flag.IntVar(&opts.Starts, "starts", 5, "server starts measured")
	flag.DurationVar(&opts.IdleWait, "idle", 30*time.Second, "idle time before reading RSS")
	flag.IntVar(&opts.Pods, "pods", 5000, "pods created and listed")
	flag.IntVar(&opts.Workers, "workers", 16, "concurrent creators")
	flag.IntVar(&opts.Watchers, "watchers", 500, "watchers for the fan-out figure")
	flag.IntVar(&opts.Events, "events", 20, "events for the fan-out figure")
	probes := bench.ProbeOptions{}
	flag.IntVar(&probes.Pods, "probe-pods", 200, "pods with probes")
	flag.DurationVar(&probes.Window, "probe-window", 30*time.Second, "how long the probes are measured")
	flag.StringVar(&probes.Profile, "probe-profile", "", "save the agent's CPU profile over the window here")
	sched := bench.SchedulerOptions{Timeout: 5 * time.Minute}
	flag.IntVar(&sched.Nodes, "sched-nodes", 100, "fake nodes for the scheduler benchmark")
	flag.IntVar(&sched.Pods, "sched-pods", 10000, "pending pods the scheduler binds")
	flag.IntVar(&sched.Workers, "sched-workers", 16, "concurrent creators of the pending pods")
	flag.IntVar(&sched.NodePods, "sched-node-pods", 200, "pod capacity of each fake node")
	flag.StringVar(&sched.Profile, "sched-profile", "", "save the server's CPU profile over the scheduler benchmark here")
	flag.DurationVar(&sched.ProfileFor, "sched-profile-for", 8*time.Second, "how long the scheduler benchmark's profile runs")
	podStart := bench.PodStartOptions{}
	flag.IntVar(&podStart.Sequential, "podstart-seq", 50, "pods started one after another")
	flag.IntVar(&podStart.Burst, "podstart-burst", 100, "pods created at once")
	flag.DurationVar(&podStart.IdleWindow, "podstart-idle", 30*time.Second, "how long CPU is measured with the burst's pods idle")
	flag.StringVar(&podStart.Profile, "podstart-profile", "", "save the agent's CPU profile over the start of the burst here")
	flag.DurationVar(&podStart.ProfileFor, "podstart-profile-for", 5*time.Second, "how long the burst's profile runs")
	dos := bench.DoSOptions{}
	flag.IntVar(&dos.Idle, "dos-idle", 8000, "connections the idle attacker keeps open")
	flag.IntVar(&dos.Churners, "dos-churners", 4, "attackers that open and abandon connections in a loop")
	flag.DurationVar(&dos.Duration, "dos-duration", 60*time.Second, "how long the connection attack lasts")
	flag.IntVar(&dos.Samples, "dos-samples", 30, "kubectl get pods timed without the attack")
	work := bench.WorkloadOptions{Timeout: 10 * time.Minute}
	flag.IntVar(&work.Nodes, "workload-nodes", 100, "fake nodes for the large Deployment")
	flag.IntVar(&work.Replicas, "workload-replicas", 3000, "replicas of the large Deployment")
	flag.IntVar(&work.Rolling, "workload-rolling", 100, "replicas of the Deployment rolled on one agent")
	flag.IntVar(&work.MemoryPods, "workload-memory-pods", 10000, "pods under ReplicaSets when the controllers' heap is read")
	svc := bench.ServiceOptions{}
	flag.IntVar(&svc.Services, "services", 1000, "Services in the service dataplane benchmark")
	flag.IntVar(&svc.Endpoints, "service-endpoints", 10, "endpoints of each")
	flag.IntVar(&svc.Changes, "service-changes", 200, "endpoint changes timed")
	dnsOpts := bench.DNSOptions{}
	flag.IntVar(&dnsOpts.Services, "dns-services", 1000, "Services the cluster DNS benchmark's zone holds")
	flag.IntVar(&dnsOpts.Clients, "dns-clients", 4, "clients querying the cluster DNS at once")
	flag.DurationVar(&dnsOpts.Duration, "dns-duration", 5*time.Second, "how long they query")
	traffic := bench.TrafficOptions{}
	flag.IntVar(&traffic.Connections, "traffic-conns", 1000, "connections timed through the ClusterIP and to the pod's IP")
	flag.DurationVar(&traffic.Stream, "traffic-stream", 3*time.Second, "how long one connection streams, each way")
	access := bench.AccessOptions{}
	flag.IntVar(&access.Roles, "access-roles", 1000, "ClusterRoles in the access benchmark")
	flag.IntVar(&access.Bindings, "access-bindings", 10000, "bindings in the access benchmark")
	flag.IntVar(&access.Namespaces, "access-namespaces", 100, "namespaces its RoleBindings spread over")
	flag.IntVar(&access.Requests, "access-requests", 2000, "GETs timed per client and phase")
	ext := bench.ExtensionOptions{}
	flag.IntVar(&ext.Objects, "apply-objects", 200, "objects in the manifest applied client-side and server-side")
	flag.IntVar(&ext.Runs, "apply-runs", 5, "applies timed per mode")
	flag.IntVar(&ext.Creates, "ext-creates", 5000, "objects created for the creates-per-second figures")
	flag.IntVar(&ext.Workers, "ext-workers", 16, "concurrent creators")
	preempt := bench.PreemptionOptions{Nodes: 100, NodePods: 10, Pods: 1000, Workers: 16, Timeout: 5 * time.Minute}
	storage := bench.StorageOptions{Timeout: 5 * time.Minute}
	flag.IntVar(&storage.Claims, "storage-claims", 100, "local-path claims timed to Bound")
	ha := bench.HAOptions{Pods: 3000, Workers: 16, Kills: 10, Watches: 200}
	flag.IntVar(&ha.Kills, "ha-kills", 10, "leaders killed for the failover figure")
	only := flag.String("only", "", "run only this benchmark: controlplane, probes, podstart, scheduler, workloads, services, access, extensions, storage, ha or dos")
	flag.Parse()
	if *only == "" || *only == "controlplane" {
		fmt.Println("== control plane (issue: API server on embedded etcd) ==")
		if err := bench.ControlPlane(bin, opts, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "probes" {
		fmt.Println("== container health (issue: probes and back-off) ==")
		if err := bench.Probes(bin, ".", probes, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "podstart" {
		fmt.Println("== pod start (issue: hardening) ==")
		if err := bench.PodStart(bin, ".", podStart, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "dos" {
		fmt.Println("== connection attack (issue: hardening) ==")
		if err := bench.DoS(bin, dos, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "workloads" {
		fmt.Println("== workloads (issue: workloads) ==")
		if err := bench.Workloads(bin, ".", work, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "services" {
		fmt.Println("== service dataplane (issue: services, DNS and network policy) ==")
		if err := bench.Services(svc, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := bench.ClusterDNS(dnsOpts, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		traffic.DNS = dnsOpts
		if err := bench.ServiceTraffic(bin, ".", traffic, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "access" {
		fmt.Println("== access (issue: identity and access) ==")
		if err := bench.Access(bin, access, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "extensions" {
		fmt.Println("== extensions (issue: extending the API) ==")
		if err := bench.Extensions(bin, ext, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "storage" {
		fmt.Println("== storage (issue: storage and resource management) ==")
		if err := bench.Storage(bin, ".", storage, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "ha" {
		fmt.Println("== several servers (issue: a control plane of several servers) ==")
		if err := bench.HA(bin, ha, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if *only == "" || *only == "scheduler" {
		fmt.Println("== scheduler (issue: scheduler and many nodes) ==")
		if err := bench.Scheduler(bin, sched, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := bench.Preemption(bin, preempt, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}
