package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// The pod subresources served by the agent on the pod's node, as the kubelet serves
// them upstream: the API server checks the request, finds the node, and proxies.
var nodeSubresources = map[string]bool{"log": true, "exec": true, "attach": true, "portforward": true}

// errNoAgent answers when the server has no way to reach node agents.
var errNoAgent = apierrors.NewServiceUnavailable("no node agent is reachable")

// defaultContainerAnnotation names the container exec, attach and logs use when the
// request names none.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// proxyToNode serves pods/log (GET), and pods/exec, pods/attach and pods/portforward (an
// upgrade, GET or POST), through the agent on the pod's node.
func (s *Server) proxyToNode(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	if ri.Verb != "get" && (ri.Subresource == "log" || ri.Verb != "create") {
		s.methodNotAllowed(w, r, res, ri)
		return
	}
	obj := res.newStored()
	if err := s.cfg.Store.Get(r.Context(), res.key(ri.Namespace, ri.Name), obj); err != nil {
		fail(err)
		return
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		fail(fmt.Errorf("pods are stored as %T", obj))
		return
	}
	path, query, err := nodePath(pod, ri.Subresource, r.URL.Query())
	if err != nil {
		fail(err)
		return
	}
	if pod.Spec.NodeName == "" {
		if ri.Subresource == "log" {
			// As upstream: a pod on no node has no log yet.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			return
		}
		fail(apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	addr, err := s.agentAddress(pod.Spec.NodeName)
	if err != nil {
		fail(err)
		return
	}
	target := &url.URL{Scheme: "https", Host: addr, Path: path, RawQuery: query.Encode()}
	if ri.Subresource == "log" {
		s.streamLog(w, r, pod.Spec.NodeName, target, pod.Name)
		return
	}
	if ca, ok := res.admit.(ConnectAdmitter); ok {
		if err := ca.AdmitConnect(r.Context(), ri.Subresource, pod.Namespace, pod.Name, connectOptions(ri.Subresource, r.URL.Query())); err != nil {
			fail(err)
			return
		}
	}
	s.proxyUpgrade(w, r, pod.Spec.NodeName, target)
}

// nodePath returns the agent's path and query for a pod subresource request, with the
// container checked or defaulted.
func nodePath(pod *corev1.Pod, sub string, q url.Values) (string, url.Values, error) {
	out := url.Values{}
	flag := func(name, as, value string) {
		if v, ok := q[name]; ok && queryBool(v) {
			out.Add(as, value)
		}
	}
	switch sub {
	case "log":
		c, err := logContainer(pod, q.Get("container"))
		if err != nil {
			return "", nil, err
		}
		if err := logOptions(pod.Name, q, out); err != nil {
			return "", nil, err
		}
		for _, f := range []string{"follow", "previous", "timestamps"} {
			flag(f, f, "true")
		}
		return fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, c), out, nil
	case "exec", "attach":
		c, err := streamContainer(pod, q.Get("container"))
		if err != nil {
			return "", nil, err
		}
		for _, f := range []string{"stdin", "stdout", "stderr", "tty"} {
			flag(f, f, "1")
		}
		if sub == "exec" {
			for _, c := range q["command"] {
				out.Add("command", c)
			}
		}
		return fmt.Sprintf("/%s/%s/%s/%s", sub, pod.Namespace, pod.Name, c), out, nil
	default: // portforward
		if ports := q["ports"]; len(ports) > 0 {
			for _, p := range ports {
				if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
					return "", nil, apierrors.NewBadRequest(fmt.Sprintf("invalid port %q", p))
				}
			}
			out.Set("port", strings.Join(ports, ","))
		}
		return fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name), out, nil
	}
}

// connectOptions returns the options of an exec, attach or portforward request, which
// admission sees as the request's object.
func connectOptions(sub string, q url.Values) runtime.Object {
	flag := func(name string) bool { v, ok := q[name]; return ok && queryBool(v) }
	switch sub {
	case "exec":
		o := &corev1.PodExecOptions{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"), TTY: flag("tty"),
			Container: q.Get("container"), Command: q["command"]}
		o.APIVersion, o.Kind = "v1", "PodExecOptions"
		return o
	case "attach":
		o := &corev1.PodAttachOptions{Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"), TTY: flag("tty"),
			Container: q.Get("container")}
		o.APIVersion, o.Kind = "v1", "PodAttachOptions"
		return o
	default:
		o := &corev1.PodPortForwardOptions{}
		for _, p := range q["ports"] {
			if n, err := strconv.ParseInt(p, 10, 32); err == nil {
				o.Ports = append(o.Ports, int32(n))
			}
		}
		o.APIVersion, o.Kind = "v1", "PodPortForwardOptions"
		return o
	}
}

// queryBool reads a boolean query parameter as upstream's conversion does: present and
// not "0" or "false".
func queryBool(v []string) bool {
	return len(v) > 0 && v[0] != "0" && !strings.EqualFold(v[0], "false")
}

// logOptions checks the numeric and time options of a log request (PodLogOptions) and
// adds them to out.
func logOptions(name string, q url.Values, out url.Values) error {
	var errs field.ErrorList
	number := func(param string, least int64, msg string) bool {
		v := q.Get(param)
		if v == "" {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, field.Invalid(field.NewPath(param), v, "must be an integer"))
			return false
		}
		if n < least {
			errs = append(errs, field.Invalid(field.NewPath(param), n, msg))
			return false
		}
		out.Set(param, strconv.FormatInt(n, 10))
		return true
	}
	number("tailLines", 0, "must be greater than or equal to 0")
	number("limitBytes", 1, "must be greater than 0")
	seconds := number("sinceSeconds", 1, "must be greater than 0")
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(field.NewPath("sinceTime"), v, "must be an RFC 3339 time"))
		case seconds:
			errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
		default:
			out.Set("sinceTime", t.UTC().Format(time.RFC3339))
		}
	}
	switch v := q.Get("stream"); v {
	case "", corev1.LogStreamAll:
	case corev1.LogStreamStdout, corev1.LogStreamStderr:
		if q.Get("tailLines") != "" {
			errs = append(errs, field.Forbidden(field.NewPath("tailLines"), "tailLines is not supported when stream is "+v))
		}
		out.Set("stream", v)
	default:
		errs = append(errs, field.NotSupported(field.NewPath("stream"), v, []string{corev1.LogStreamAll, corev1.LogStreamStderr, corev1.LogStreamStdout}))
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "PodLogOptions"}, name, errs)
	}
	return nil
}

// containerNames returns the names of a pod's init, regular and ephemeral containers.
func containerNames(pod *corev1.Pod) (init, regular, ephemeral []string) {
	for _, c := range pod.Spec.InitContainers {
		init = append(init, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		regular = append(regular, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		ephemeral = append(ephemeral, c.Name)
	}
	return init, regular, ephemeral
}

// defaultContainer checks a named container, or picks the pod's only container or its
// annotated default. It returns "" when the request must name one.
func defaultContainer(pod *corev1.Pod, name string) (string, error) {
	init, regular, ephemeral := containerNames(pod)
	if name != "" {
		if !slices.Contains(init, name) && !slices.Contains(regular, name) && !slices.Contains(ephemeral, name) {
			return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
		}
		return name, nil
	}
	if d := pod.Annotations[defaultContainerAnnotation]; d != "" && slices.Contains(regular, d) {
		return d, nil
	}
	switch len(regular) {
	case 0:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
	case 1:
		return regular[0], nil
	}
	return "", nil
}

// logContainer is the container a log request reads, worded as upstream's
// validateContainer.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	c, err := defaultContainer(pod, name)
	if err != nil || c != "" {
		return c, err
	}
	init, regular, ephemeral := containerNames(pod)
	all := append(append(init, regular...), ephemeral...)
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, all))
}

// streamContainer is the container an exec or attach runs in, worded as upstream's
// streamLocation.
func streamContainer(pod *corev1.Pod, name string) (string, error) {
	c, err := defaultContainer(pod, name)
	if err != nil || c != "" {
		return c, err
	}
	init, regular, _ := containerNames(pod)
	msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(regular, " "))
	if len(init) > 0 {
		msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(init, " "))
	}
	return "", apierrors.NewBadRequest(msg)
}

// AgentAddress returns where node's agent listens (host:port), as the server reaches
// it for logs, exec and the node proxy; the caller connects with the server's own
// credentials for agents (Config.NodeTransport).
func (s *Server) AgentAddress(node string) (string, error) { return s.agentAddress(node) }

// agentAddress returns host:port of a node's agent, from the Node in the cache: its
// first InternalIP (else ExternalIP, else Hostname) and status.daemonEndpoints'
// kubelet port.
func (s *Server) agentAddress(nodeName string) (string, error) {
	if s.cfg.NodeTransport == nil || s.cfg.NodeDialer == nil {
		return "", errNoAgent
	}
	nodes := schema.GroupResource{Resource: "nodes"}
	res := s.resourceFor(nodes)
	if res == nil {
		return "", errNoAgent
	}
	obj, ok := res.cache.Get(res.key("", nodeName))
	if !ok {
		return "", apierrors.NewNotFound(nodes, nodeName)
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return "", fmt.Errorf("nodes are stored as %T", obj)
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" && port > 0 {
				return net.JoinHostPort(a.Address, strconv.Itoa(int(port))), nil
			}
		}
	}
	return "", apierrors.NewServiceUnavailable(fmt.Sprintf("no node agent is reachable: node %q has no address and port for it", nodeName))
}

// streamLog copies a log from the agent to the client, flushing as it goes. An error
// status from the agent becomes an API error carrying the agent's message.
func (s *Server) streamLog(w http.ResponseWriter, r *http.Request, node string, target *url.URL, name string) {
	gr := schema.GroupResource{Resource: "pods/log"}
	fail := func(err error) { s.writeError(w, r, err, gr, name) }
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		fail(err)
		return
	}
	resp, err := s.cfg.NodeTransport(node).RoundTrip(req)
	if err != nil {
		fail(apierrors.NewServiceUnavailable(fmt.Sprintf("no node agent is reachable: %v", err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
		fail(agentError(resp.StatusCode, strings.TrimSpace(string(body)), gr, name))
		return
	}
	if wsstream.IsWebSocketRequest(r) {
		// As upstream: the log as WebSocket messages, binary.k8s.io or
		// base64.binary.k8s.io; the socket closes when the log ends.
		if err := wsstream.NewReader(resp.Body, true, wsstream.NewDefaultReaderProtocols()).Copy(w, r); err != nil {
			s.log.Debug("streaming a log over a WebSocket", "url", target.Path, "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
				s.log.Debug("streaming a log from a node agent", "url", target.Path, "err", err)
			}
			return
		}
	}
}

// agentError turns an agent's error answer into the API error upstream makes of a
// kubelet's, except that a 404 keeps the agent's message ("pod "x" does not exist"),
// which says more than upstream's generic one.
func agentError(code int, body string, gr schema.GroupResource, name string) error {
	switch code {
	case http.StatusInternalServerError:
		return apierrors.NewInternalError(errors.New(body))
	case http.StatusBadRequest:
		return apierrors.NewBadRequest(body)
	case http.StatusNotFound:
		if body != "" {
			st := apierrors.NewGenericServerResponse(code, "get", gr, name, body, 0, false)
			st.ErrStatus.Message = body
			return st
		}
	}
	return apierrors.NewGenericServerResponse(code, "get", gr, name, body, 0, false)
}

// proxyUpgrade relays an upgrade request (WebSocket or SPDY) to the agent: the agent's
// answer goes back to the client, and after a 101 the two connections are joined until
// either side closes. The client's credentials stay here; the agent knows the server
// by its client certificate.
func (s *Server) proxyUpgrade(w http.ResponseWriter, r *http.Request, node string, target *url.URL) {
	fail := func(err error) { s.writeError(w, r, err, schema.GroupResource{Resource: "pods"}, "") }
	if !isUpgrade(r) {
		fail(apierrors.NewBadRequest("Upgrade request required"))
		return
	}
	backend, err := s.cfg.NodeDialer(r.Context(), node, target.Host)
	if err != nil {
		fail(apierrors.NewServiceUnavailable(fmt.Sprintf("no node agent is reachable: %v", err)))
		return
	}
	defer backend.Close()
	out := &http.Request{Method: r.Method, URL: target, Host: target.Host, Header: withoutCredentials(r).Header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if err := out.Write(backend); err != nil {
		fail(apierrors.NewServiceUnavailable(fmt.Sprintf("no node agent is reachable: %v", err)))
		return
	}
	br := bufio.NewReader(backend)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		fail(apierrors.NewServiceUnavailable(fmt.Sprintf("no node agent is reachable: %v", err)))
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// A refusal (the client may fall back to another protocol) goes back as it is.
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.code = http.StatusSwitchingProtocols
	}
	client, crw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.log.Debug("hijacking an upgrade", "path", r.URL.Path, "err", err)
		return
	}
	defer client.Close()
	head := fmt.Sprintf("HTTP/1.1 %s\r\n", resp.Status)
	if _, err := io.WriteString(crw, head); err != nil {
		return
	}
	if err := resp.Header.Write(crw); err != nil {
		return
	}
	if _, err := io.WriteString(crw, "\r\n"); err != nil {
		return
	}
	if err := crw.Flush(); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		// The agent's bytes already read with its answer go first.
		_, _ = io.Copy(client, br)
		done <- struct{}{}
	}()
	go func() {
		// And what the client sent after its request, read with it.
		_, _ = io.Copy(backend, crw.Reader)
		done <- struct{}{}
	}()
	<-done
}

// isUpgrade reports whether a request asks to switch protocols.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return r.Header.Get("Upgrade") != ""
			}
		}
	}
	return false
}
