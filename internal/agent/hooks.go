package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/agent/prober"
)

// Lifecycle hooks: postStart and preStop handlers run in or against a container.

// runHook runs a lifecycle hook: exec in the container, or an HTTP GET to the pod.
func (w *worker) runHook(ctx context.Context, pod *corev1.Pod, containerID string, c *corev1.Container, h *corev1.LifecycleHandler) (string, error) {
	switch {
	case h.Exec != nil:
		out, errOut, code, err := w.a.rt.ExecSync(ctx, containerID, h.Exec.Command, 0)
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v", h.Exec.Command, c.Name, pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", err), err
		}
		if code != 0 {
			err := fmt.Errorf("command '%v' exited with %d: %s", h.Exec.Command, code, string(append(out, errOut...)))
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, c.Name, pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", err, string(out)), err
		}
		return "", nil
	case h.HTTPGet != nil:
		host := h.HTTPGet.Host
		if host == "" {
			host = pod.Status.PodIP
			if snap, _, err := takeSnapshot(ctx, w.a.rt, w.a.dirs, pod.UID); err == nil && snap[pod.UID] != nil && snap[pod.UID].Sandbox != nil {
				host = sandboxIP(pod, snap[pod.UID].Sandbox, w.a.cfg.Info.InternalIP)
			}
		}
		if err := w.httpHook(ctx, pod, c, h.HTTPGet, host); err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, c.Name, pod.Name+"_"+pod.Namespace+"("+string(pod.UID)+")", err), err
		}
		return "", nil
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-w.a.cfg.Clock.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
		return "", nil
	}
	return "", nil
}

// hookClient makes the requests of httpGet hooks. As upstream's, it checks no
// certificate (there is nothing to check it against) and so must never carry
// credentials; it follows redirects on the same host only.
var hookClient = &http.Client{
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil},
	CheckRedirect: prober.NewHTTPClient().CheckRedirect,
}

// httpHook sends an httpGet hook's request. As upstream, only an error of the request
// fails the hook, whatever the status code; an HTTPS request answered in plain HTTP is
// sent again over HTTP, with a LifecycleHTTPFallback event.
func (w *worker) httpHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, g *corev1.HTTPGetAction, host string) error {
	req, err := prober.NewRequest(ctx, g, c, host, "lifecycle")
	if err != nil {
		return err
	}
	resp, err := hookClient.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil
	}
	if req.URL.Scheme != "https" || !strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return err
	}
	plain := req.Clone(ctx)
	plain.URL.Scheme = "http"
	plain.Header.Del("Authorization")
	resp, httpErr := hookClient.Do(plain)
	if httpErr != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	w.event(pod, "", corev1.EventTypeWarning, "LifecycleHTTPFallback",
		fmt.Sprintf("request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", plain.URL.Host))
	return nil
}
