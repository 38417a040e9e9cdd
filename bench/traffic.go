package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TrafficOptions sizes the service traffic benchmark.
type TrafficOptions struct {
	Connections int           // connections timed, each way
	Stream      time.Duration // how long one connection streams, each way
	DNS         DNSOptions    // the queries from inside the pod (Services unused)
}

// ServiceTraffic measures traffic between two pods on one agent's node: through a
// Service's ClusterIP against the same to the server pod's IP, the time of a connection
// (connect, one byte each way, close; p50, p99) and the throughput of one connection;
// and the cluster DNS from inside the client pod, one client and opts.DNS.Clients at
// once, against the node's own resolver (the first nameserver of /etc/resolv.conf)
// answering the host a name it has cached.
//
// The pods only hold network namespaces; the benchmark's own sockets are opened in
// them, the server's in the server pod's and the client's in the client pod's, so the
// packets cross the pods' interfaces, the bridge and the service rules as a pod's do.
func ServiceTraffic(bin, moduleRoot string, opts TrafficOptions, out io.Writer) (err error) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-traffic-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	n, err := startNode(bin, moduleRoot, root, 2)
	if err != nil {
		return err
	}
	defer n.stop()
	cs := n.server.Client(true)
	defer func() { // the pods go before the agent does, so that nothing is left
		if derr := deleteAll(cs); err == nil {
			err = derr
		}
	}()
	if err := waitNodeReady(cs, time.Minute); err != nil {
		return err
	}
	running, stopWatch, err := watchRunning(cs)
	if err != nil {
		return err
	}
	defer stopWatch()
	grace := int64(1)
	for _, name := range []string{"server", "client"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench-" + name}},
			Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace,
				Containers: []corev1.Container{{Name: "app", Image: "busybox", Command: []string{"sleep", "3600"}}}}}
		if _, err := cs.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "bench-server"},
		Ports: []corev1.ServicePort{{Name: "conn", Port: 80, TargetPort: intstr.FromInt32(8080)},
			{Name: "stream", Port: 81, TargetPort: intstr.FromInt32(8081)}}}}
	if svc, err = cs.CoreV1().Services("default").Create(bg, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	kubeDNS, err := cs.CoreV1().Services("kube-system").Get(bg, "kube-dns", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the cluster DNS Service: %w", err)
	}
	netns := map[string]string{}
	var serverIP string
	for _, name := range []string{"server", "client"} {
		if err := running.wait(name, 2*time.Minute); err != nil {
			return err
		}
		pod, err := cs.CoreV1().Pods("default").Get(bg, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if netns[name], err = sandboxNetns(n.dataDir, pod.Status.PodIP); err != nil {
			return err
		}
		if name == "server" {
			serverIP = pod.Status.PodIP
		}
	}

	// The server: one byte back for one byte on 8080, everything read and dropped on 8081.
	for port, serve := range map[int]func(net.Conn){
		8080: func(c net.Conn) {
			b := make([]byte, 1)
			if _, err := io.ReadFull(c, b); err == nil {
				_, _ = c.Write(b)
			}
		},
		8081: func(c net.Conn) { _, _ = io.Copy(io.Discard, c) },
	} {
		ln, err := inNetns(netns["server"], func() (net.Listener, error) { return net.Listen("tcp", fmt.Sprintf(":%d", port)) })
		if err != nil {
			return err
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); serve(c) }()
			}
		}()
	}
	viaService, direct := net.JoinHostPort(svc.Spec.ClusterIP, "80"), net.JoinHostPort(serverIP, "8080")
	conns, err := inNetns(netns["client"], func() ([2][]time.Duration, error) {
		// The rules for the new Service may take a moment to reach the kernel.
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := roundTrip(viaService); err == nil {
				break
			} else if time.Now().After(deadline) {
				return [2][]time.Duration{}, fmt.Errorf("the ClusterIP %s does not answer: %w", viaService, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var took [2][]time.Duration
		for range opts.Connections { // alternately, so that both see the same noise
			for i, addr := range []string{viaService, direct} {
				d, err := roundTrip(addr)
				if err != nil {
					return took, err
				}
				took[i] = append(took[i], d)
			}
		}
		return took, nil
	})
	if err != nil {
		return err
	}
	p("connection (connect, a byte each way, close), %d each: through the ClusterIP p50 %s p99 %s; to the pod's IP p50 %s p99 %s; ratio p50 %.2f",
		opts.Connections, pct(conns[0], 50), pct(conns[0], 99), pct(conns[1], 50), pct(conns[1], 99), ratio(pctRaw(conns[0], 50), pctRaw(conns[1], 50)))
	rates, err := inNetns(netns["client"], func() ([2]float64, error) {
		var rates [2]float64
		for i, addr := range []string{net.JoinHostPort(svc.Spec.ClusterIP, "81"), net.JoinHostPort(serverIP, "8081")} {
			r, err := streamRate(addr, opts.Stream)
			if err != nil {
				return rates, err
			}
			rates[i] = r
		}
		return rates, nil
	})
	if err != nil {
		return err
	}
	p("one connection streaming for %s: through the ClusterIP %.0f MB/s, to the pod's IP %.0f MB/s; ratio %.2f",
		opts.Stream, rates[0]/1e6, rates[1]/1e6, rates[0]/rates[1])

	name := func(int) string { return "bench.default.svc.cluster.local." }
	dnsAddr := net.JoinHostPort(kubeDNS.Spec.ClusterIP, "53")
	inPod := func() error { return setns(netns["client"]) }
	one := DNSOptions{Clients: 1, Duration: opts.DNS.Duration}
	single := queryLoad(dnsAddr, one, name, inPod, false)
	many := queryLoad(dnsAddr, opts.DNS, name, inPod, false)
	p("cluster DNS from inside a pod (%s): 1 client p50 %s p99 %s (%d failed); %d clients %.0f queries/s p50 %s p99 %s (%d failed)",
		dnsAddr, single.p50.Round(time.Microsecond), single.p99.Round(time.Microsecond), single.failed,
		opts.DNS.Clients, many.qps, many.p50.Round(time.Microsecond), many.p99.Round(time.Microsecond), many.failed)
	resolver, err := nodeResolver()
	if err != nil {
		p("the node's resolver: %v", err)
		return nil
	}
	// The name is asked once before the timing, so that the resolver has it cached (an
	// answer that it does not exist is cached as well).
	cached := func(int) string { return "kubernetes.io." }
	queryLoad(resolver, DNSOptions{Clients: 1, Duration: 100 * time.Millisecond}, cached, nil, true)
	node := queryLoad(resolver, one, cached, nil, true)
	p("the node's resolver (%s) from the host, a cached name, 1 client: p50 %s p99 %s (%d failed); ratio p50 (cluster DNS from a pod / node resolver) %.2f",
		resolver, node.p50.Round(time.Microsecond), node.p99.Round(time.Microsecond), node.failed, float64(single.p50)/float64(max(node.p50, 1)))
	return nil
}

// roundTrip connects to addr, sends a byte, reads one back and closes: its time.
func roundTrip(addr string) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b := []byte{1}
	if _, err := c.Write(b); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(c, b); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// streamRate writes to addr for d over one connection: bytes per second.
func streamRate(addr string, d time.Duration) (float64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	var sent int64
	t0 := time.Now()
	for time.Since(t0) < d {
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			return 0, err
		}
	}
	return float64(sent) / time.Since(t0).Seconds(), nil
}

// sandboxNetns finds the network namespace of the pod sandbox with IP ip among the
// runtime's sandboxes below the agent's data directory.
func sandboxNetns(agentDir, ip string) (string, error) {
	var found string
	err := filepath.WalkDir(agentDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "sandbox.json" || found != "" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var meta struct {
			IP    string `json:"ip"`
			NetNS string `json:"netns"`
		}
		if json.Unmarshal(data, &meta) == nil && meta.IP == ip && meta.NetNS != "" {
			found = meta.NetNS
		}
		return nil
	})
	if err == nil && found == "" {
		err = fmt.Errorf("no sandbox with IP %s below %s", ip, agentDir)
	}
	return found, err
}

// nodeResolver is the first nameserver of /etc/resolv.conf, as host:53.
func nodeResolver() (string, error) {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			return net.JoinHostPort(f[1], "53"), nil
		}
	}
	return "", errors.New("/etc/resolv.conf names no nameserver")
}

// dnsClient runs on a thread of its own, entered (into a network namespace) by enter
// when set; that thread is not reused.
func dnsClient(enter func() error) (*dns.Client, error) {
	if enter != nil {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := enter(); err != nil {
			return nil, err
		}
	}
	return &dns.Client{Net: "udp", Timeout: 2 * time.Second}, nil
}
