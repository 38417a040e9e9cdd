package bench

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/pki"
)

// ProbeOptions size the probe benchmark.
type ProbeOptions struct {
	Pods   int           // pods, each with an httpGet liveness and readiness probe
	Window time.Duration // how long the agent's CPU and the probes are measured
	// Profile, when set, is where the agent's CPU profile over the window is saved.
	Profile string
}

// benchClusterCIDR is the pod network of the benchmark's node, a range of its own.
const benchClusterCIDR = "10.244.160.0/20"

// Probes runs pods with probes at periodSeconds 1 on a separate agent process, and
// prints the agent's CPU share and the probes' p99 latency, beside the same number of
// plain HTTP GETs per second from this process.
func Probes(bin, moduleRoot string, opts ProbeOptions, out io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	root, err := os.MkdirTemp("", "podium-bench-probes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	n, err := startNode(bin, moduleRoot, root, opts.Pods)
	if err != nil {
		return err
	}
	defer n.stop()
	agent, agentPort, token := n.agent, n.agentPort, n.token

	cs := n.server.Client(true)
	probe := func() *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt(3000)}},
			PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
	}
	t0 := time.Now()
	for i := 0; i < opts.Pods; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("echo-%d", i)}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/subicura/echo:v1", LivenessProbe: probe(), ReadinessProbe: probe()}}}}
		if _, err := cs.CoreV1().Pods("default").Create(bg, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	defer func() {
		// A graceful delete: the agent removes each pod's object once it has cleaned
		// the pod up on the host, so waiting for the objects waits for the cleanup.
		_ = cs.CoreV1().Pods("default").DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{})
		waitGone(cs, 5*time.Minute)
	}()
	var ips []string
	for deadline := time.Now().Add(5 * time.Minute); ; {
		l, err := cs.CoreV1().Pods("default").List(bg, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ips = ips[:0]
		for _, pod := range l.Items {
			if len(pod.Status.ContainerStatuses) == 1 && pod.Status.ContainerStatuses[0].Ready {
				ips = append(ips, pod.Status.PodIP)
			}
		}
		if len(ips) == opts.Pods {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d pods became ready", len(ips), opts.Pods)
		}
		time.Sleep(500 * time.Millisecond)
	}
	p("%d pods with httpGet liveness and readiness probes at periodSeconds 1 ready in %s", opts.Pods, time.Since(t0).Round(100*time.Millisecond))

	scrape := func() (map[float64]float64, float64, error) {
		return scrapeHistogram(agentPort, "prober_probe_duration_seconds", string(token))
	}
	before, countBefore, err := scrape()
	if err != nil {
		return err
	}
	cpuBefore := procCPU(agent.Process.Pid)
	wall := time.Now()
	if opts.Profile != "" {
		go saveProfile(agentPort, string(token), opts.Window, opts.Profile)
	}
	time.Sleep(opts.Window)
	cpu := procCPU(agent.Process.Pid) - cpuBefore
	elapsed := time.Since(wall)
	after, countAfter, err := scrape()
	if err != nil {
		return err
	}
	probes := countAfter - countBefore
	p("agent: %.1f%% of one core over %s (target < 10%%), %.0f probes/s, p50 %s p99 %s",
		100*cpu.Seconds()/elapsed.Seconds(), opts.Window, probes/elapsed.Seconds(),
		quantile(before, after, probes, 0.50), quantile(before, after, probes, 0.99))

	// The floor: the same number of HTTP GETs per second from this process.
	rate := int(probes / elapsed.Seconds())
	rawCPU, rawP50, rawP99 := rawGets(ips, rate, 10*time.Second)
	p("raw HTTP GETs from a Go loop at the same rate: %.1f%% of one core, p50 %s p99 %s", 100*rawCPU, rawP50, rawP99)
	return nil
}

// procCPU returns a process's user and system CPU time.
func procCPU(pid int) time.Duration {
	own, _ := procCPUs(pid)
	return own
}

// procCPUs returns the CPU time a process used itself, and that of its children it has
// waited for.
func procCPUs(pid int) (own, children time.Duration) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	var ticks [4]int64 // utime, stime, cutime, cstime
	for i := range ticks {
		ticks[i], _ = strconv.ParseInt(f[11+i], 10, 64)
	}
	const hz = 100 // USER_HZ is 100 on Linux
	return time.Duration(ticks[0]+ticks[1]) * time.Second / hz, time.Duration(ticks[2]+ticks[3]) * time.Second / hz
}

// machineCPU returns the CPU time every CPU of the machine has spent busy (not idle or
// waiting for I/O).
func machineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(data), "\n")
	var busy int64
	for i, v := range strings.Fields(first)[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100
}

// scrapeHistogram reads a histogram's cumulative buckets (le -> count, summed over
// labels) and its total count from the agent's /metrics.
func scrapeHistogram(port int, metric, token string) (map[float64]float64, float64, error) {
	_, secret, err := pki.ParseJoinToken(token)
	if err != nil {
		return nil, 0, err
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", port), nil)
	req.Header.Set("Authorization", "Bearer apiserver:"+secret)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	buckets := map[float64]float64{}
	var count float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, metric+"_bucket{"):
			i := strings.Index(line, `le="`)
			j := strings.Index(line[i+4:], `"`)
			le, _ := strconv.ParseFloat(line[i+4:i+4+j], 64)
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			buckets[le] += v
		case strings.HasPrefix(line, metric+"_count"):
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			count += v
		}
	}
	return buckets, count, sc.Err()
}

// quantile returns the upper bound of the bucket holding quantile q of the observations
// made between two scrapes.
func quantile(before, after map[float64]float64, total, q float64) string {
	var les []float64
	for le := range after {
		les = append(les, le)
	}
	sort.Float64s(les)
	for _, le := range les {
		if after[le]-before[le] >= q*total {
			if math.IsInf(le, 1) {
				return "> 10s"
			}
			return "<= " + time.Duration(le*float64(time.Second)).String()
		}
	}
	return "n/a"
}

// rawGets does rate GETs per second spread over ips for d, and returns this process's
// CPU share while doing so and the p50 and p99 latency.
func rawGets(ips []string, rate int, d time.Duration) (float64, time.Duration, time.Duration) {
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var n atomic.Int64
	tick := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
	defer tick.Stop()
	for time.Since(start) < d {
		<-tick.C
		ip := ips[int(n.Add(1))%len(ips)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			resp, err := client.Get("http://" + ip + ":3000/")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			mu.Lock()
			lat = append(lat, time.Since(t))
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	return cpu.Seconds() / elapsed.Seconds(), pctRaw(lat, 50).Round(10 * time.Microsecond), pctRaw(lat, 99).Round(10 * time.Microsecond)
}

// waitGone waits until no pod is left in namespace default, or d passes.
func waitGone(cs *kubernetes.Clientset, d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		l, err := cs.CoreV1().Pods("default").List(bg, metav1.ListOptions{})
		if err == nil && len(l.Items) == 0 {
			return
		}
	}
}

// saveProfile saves the agent's CPU profile over d to path.
func saveProfile(port int, token string, d time.Duration, path string) {
	_, secret, err := pki.ParseJoinToken(token)
	if err != nil {
		return
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, int(d.Seconds())), nil)
	req.Header.Set("Authorization", "Bearer apiserver:"+secret)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: d + 30*time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}
