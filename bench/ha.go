package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podium/podium/internal/leader"
	"github.com/podium/podium/internal/netnstest"
)

// HAOptions sizes the benchmark of several servers.
type HAOptions struct {
	Pods    int // pods created for the creates-per-second figures
	Workers int // concurrent creators
	Kills   int // leaders killed for the failover figure
	Watches int // events timed for the watch latency figure
}

// haHost is a network namespace on the benchmark's bridge, with one server in it.
type haHost struct {
	ns, ip, link, dataDir string
	args                  []string
	cmd                   *exec.Cmd
	exited                chan struct{}
}

const haPrefix = "172.31.253"

// haHosts makes a bridge and n namespaces; remove deletes them.
func haHosts(n int) (hosts []*haHost, remove func(), err error) {
	var undo []func()
	remove = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	ip := func(args ...string) error {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
		return nil
	}
	bridge := fmt.Sprintf("podb%d", os.Getpid()%100000)
	if err := ip("link", "add", bridge, "type", "bridge"); err != nil {
		return nil, remove, err
	}
	undo = append(undo, func() { _ = ip("link", "del", bridge) })
	if err := ip("link", "set", bridge, "up"); err != nil {
		return nil, remove, err
	}
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("%s-%d", bridge, i)
		_, rm, err := netnstest.Make(ns)
		if err != nil {
			return nil, remove, err
		}
		undo = append(undo, func() { _ = rm() })
		h := &haHost{ns: ns, ip: fmt.Sprintf("%s.%d", haPrefix, 10+i), link: fmt.Sprintf("%sv%d", bridge, i)}
		for _, args := range [][]string{
			{"link", "add", h.link, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"link", "set", h.link, "master", bridge, "up"},
			{"netns", "exec", ns, "ip", "addr", "add", h.ip + "/24", "dev", "eth0"},
			{"netns", "exec", ns, "ip", "link", "set", "eth0", "up"},
			{"netns", "exec", ns, "ip", "link", "set", "lo", "up"},
		} {
			if err := ip(args...); err != nil {
				return nil, remove, err
			}
		}
		hosts = append(hosts, h)
	}
	if err := ip("addr", "add", haPrefix+".1/24", "dev", bridge); err != nil {
		return nil, remove, err
	}
	return hosts, remove, nil
}

// start runs the host's server and waits until /readyz answers.
func (h *haHost) start(bin string) error {
	h.cmd = exec.Command("nsenter", append([]string{"--net=/run/netns/" + h.ns, filepath.Join(bin, "podium"), "server", "--data-dir", h.dataDir,
		"--bind-address", h.ip, "--advertise-address", h.ip, "--disable-agent"}, h.args...)...)
	h.cmd.Stderr = io.Discard
	if err := h.cmd.Start(); err != nil {
		return err
	}
	h.exited = make(chan struct{})
	go func() { _ = h.cmd.Wait(); close(h.exited) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Second}
	for start := time.Now(); time.Since(start) < 2*time.Minute; time.Sleep(20 * time.Millisecond) {
		select {
		case <-h.exited:
			return fmt.Errorf("server on %s exited", h.ip)
		default:
		}
		tok, err := os.ReadFile(filepath.Join(h.dataDir, "tls", "admin.token"))
		if err != nil {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+h.ip+":6443/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("server on %s not ready within 2 minutes", h.ip)
}

func (h *haHost) kill() {
	if h.cmd != nil {
		_ = h.cmd.Process.Kill()
		<-h.exited
		h.cmd = nil
	}
}

func (h *haHost) stop() {
	if h.cmd != nil {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exited:
		case <-time.After(15 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.exited
		}
		h.cmd = nil
	}
}

func (h *haHost) rest() *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(h.dataDir, "kubeconfig.yaml"))
	if err != nil {
		panic(err)
	}
	cfg.QPS, cfg.Burst = -1, 1000
	return cfg
}

func (h *haHost) identity() string {
	id, _ := leader.Identity(h.dataDir) // the server made it; this reads it
	return id
}

// anyServer is a client configuration that reaches whichever of hosts answers, as an
// agent's does: every server's certificate names "kubernetes".
func anyServer(hosts []*haHost) *rest.Config {
	cfg := rest.CopyConfig(hosts[0].rest())
	cfg.TLSClientConfig.ServerName = "kubernetes"
	cfg.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var errs []error
		for _, h := range hosts {
			d := net.Dialer{Timeout: time.Second}
			c, err := d.DialContext(ctx, network, h.ip+":6443")
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
	cfg.Timeout = 10 * time.Second
	return cfg
}

// HA measures several servers on embedded etcd, each in a network namespace of its own:
// pod creates per second through three servers against one server alone; the time from
// the scheduler's leader being killed to the next pod scheduled; and the latency of a
// watch through a server other than the one written to.
func HA(bin string, opts HAOptions, out io.Writer) (err error) {
	hosts, remove, err := haHosts(3)
	defer remove()
	if err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "podium-bench-ha-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	defer func() {
		for _, h := range hosts {
			h.stop()
		}
	}()

	// One server alone first, on the first host.
	alone := hosts[0]
	alone.dataDir = filepath.Join(root, "alone")
	if err := alone.start(bin); err != nil {
		return err
	}
	single, err := podCreates(alone.rest(), []*rest.Config{alone.rest()}, opts)
	alone.stop()
	if err != nil {
		return err
	}

	for i, h := range hosts {
		h.dataDir = filepath.Join(root, fmt.Sprintf("server-%d", i+1))
		if i == 0 {
			h.args = []string{"--cluster-init"}
		} else {
			tok, err := exec.Command(filepath.Join(bin, "podium"), "server", "token", "--data-dir", hosts[0].dataDir).Output()
			if err != nil {
				return err
			}
			h.args = []string{"--server", "https://" + hosts[0].ip + ":6443", "--token", strings.TrimSpace(string(tok))}
		}
		if err := h.start(bin); err != nil {
			return err
		}
	}
	var all []*rest.Config
	for _, h := range hosts {
		all = append(all, h.rest())
	}
	three, err := podCreates(hosts[0].rest(), all, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pod creates, %d pods by %d clients: one server %.0f/s, three servers (clients spread over them) %.0f/s (ratio %.2f)\n",
		opts.Pods, opts.Workers, single, three, three/single)

	// Watch latency: written through one server, seen through the same and another.
	writer := kubernetes.NewForConfigOrDie(hosts[0].rest())
	same, other, err := watchLatency(writer, kubernetes.NewForConfigOrDie(hosts[0].rest()), kubernetes.NewForConfigOrDie(hosts[1].rest()), opts.Watches)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "watch latency, %d ConfigMaps: through the server written to p50 %s p99 %s; through another server p50 %s p99 %s (ratio of p50s %.2f)\n",
		opts.Watches, pct(same, 50), pct(same, 99), pct(other, 50), pct(other, 99), float64(median(other))/float64(median(same)))

	// Failover: kill the scheduler's leader; time until a pod created then is bound.
	cs := kubernetes.NewForConfigOrDie(anyServer(hosts))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := []string{"ha-node"}
	if err := registerFakeNodes(ctx, cs, names, 1000); err != nil {
		return err
	}
	go renewLeases(ctx, cs, names, 5*time.Second)
	var took []time.Duration
	for kill := 0; kill < opts.Kills; kill++ {
		lease, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return fmt.Errorf("the scheduler's lease: %v", err)
		}
		i := slices.IndexFunc(hosts, func(h *haHost) bool { return h.identity() == *lease.Spec.HolderIdentity })
		if i < 0 {
			return fmt.Errorf("no server holds the scheduler's lease (%s)", *lease.Spec.HolderIdentity)
		}
		leader := hosts[i]
		leader.kill()
		killed := time.Now()
		name := fmt.Sprintf("after-kill-%d", kill)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
		for {
			if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err == nil {
				break
			}
			if time.Since(killed) > time.Minute {
				return fmt.Errorf("no pod could be created within a minute of the kill")
			}
			time.Sleep(100 * time.Millisecond)
		}
		for {
			p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err == nil && p.Spec.NodeName != "" {
				break
			}
			if time.Since(killed) > 2*time.Minute {
				return fmt.Errorf("the pod was not scheduled within 2 minutes of the kill")
			}
			time.Sleep(50 * time.Millisecond)
		}
		took = append(took, time.Since(killed))
		if err := leader.start(bin); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "leader killed (kill -9) to the next pod scheduled, %d kills: p50 %s, min %s, max %s (lease %s)\n",
		opts.Kills, pct(took, 50), pct(took, 0), pct(took, 100), "8s")
	return nil
}

// podCreates creates opts.Pods pods (no node exists yet: they stay pending) by
// opts.Workers clients spread over servers, returns the rate, and deletes them again.
func podCreates(admin *rest.Config, servers []*rest.Config, opts HAOptions) (float64, error) {
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(admin)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "creates"}}, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	var clients []kubernetes.Interface
	for _, s := range servers {
		clients = append(clients, kubernetes.NewForConfigOrDie(s))
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < opts.Workers; w++ {
		c := clients[w%len(clients)]
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(opts.Pods) {
					return
				}
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%d", i)},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
				if _, err := c.CoreV1().Pods("creates").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	rate := float64(opts.Pods) / time.Since(start).Seconds()
	if firstErr != nil {
		return 0, firstErr
	}
	// The pending pods go, so that they do not stand in the scheduler's queue later.
	if err := cs.CoreV1().Namespaces().Delete(ctx, "creates", metav1.DeleteOptions{}); err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "creates", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return rate, nil
		}
		if time.Now().After(deadline) {
			return 0, errors.New("namespace creates not gone within 3 minutes")
		}
	}
}

// watchLatency creates n ConfigMaps one after another through writer and times each
// from its create to its ADDED event on watches through same and other.
func watchLatency(writer, same, other kubernetes.Interface, n int) (sameLat, otherLat []time.Duration, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := writer.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "watched"}}, metav1.CreateOptions{}); err != nil {
		return nil, nil, err
	}
	watches := make([]watch.Interface, 2)
	for i, c := range []kubernetes.Interface{same, other} {
		if watches[i], err = c.CoreV1().ConfigMaps("watched").Watch(ctx, metav1.ListOptions{}); err != nil {
			return nil, nil, err
		}
		defer watches[i].Stop()
	}
	seen := func(w watch.Interface, name string) error {
		timeout := time.After(30 * time.Second)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					return errors.New("watch closed")
				}
				if cm, isCM := ev.Object.(*corev1.ConfigMap); isCM && ev.Type == watch.Added && cm.Name == name {
					return nil
				}
			case <-timeout:
				return fmt.Errorf("no event for %s within 30 s", name)
			}
		}
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("cm-%d", i)
		start := time.Now()
		if _, err := writer.CoreV1().ConfigMaps("watched").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			return nil, nil, err
		}
		var wg sync.WaitGroup
		var errs [2]error
		var lat [2]time.Duration
		for j, w := range watches {
			wg.Go(func() {
				errs[j] = seen(w, name)
				lat[j] = time.Since(start)
			})
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			return nil, nil, err
		}
		sameLat, otherLat = append(sameLat, lat[0]), append(otherLat, lat[1])
	}
	return sameLat, otherLat, nil
}
