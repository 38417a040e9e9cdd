package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/runtime"
)

// Config is what the handler is built from.
type Config struct {
	// Runtime runs execs, attaches and port forwards; required.
	Runtime runtime.Runtime
	// Pods finds the containers and sandboxes of the pods the node runs; required.
	Pods Lookup
	// Authorize admits a request: the API server's credential. Nil admits nobody.
	Authorize func(*http.Request) bool
	// Clock gives the time sinceSeconds counts back from. When it also has
	// After(d) (a clock.Clock), following a log waits on it between polls of the file.
	Clock  clock.PassiveClock
	Logger *slog.Logger
}

// Container is one run of a container, as a Lookup finds it.
type Container struct {
	// ID is the runtime's container ID.
	ID string
	// LogPath is the run's CRI log file.
	LogPath string
	// Running is whether the run has not ended yet.
	Running bool
}

// Lookup finds what a request names among the pods the node runs. Its methods must be
// safe for concurrent use.
//
// An error wrapping runtime.ErrNotFound (see PodNotFound and ContainerNotFound) is
// answered 404; any other error is a request the container cannot serve, such as a
// previous run that does not exist or a container still waiting to start, answered 400.
// In both cases the error's message is the body, so it should read as the kubelet's:
// `previous terminated container "c" in pod "p" not found`,
// `container "c" in pod "p" is waiting to start: ContainerCreating`.
type Lookup interface {
	// Container returns a container's current run (the last one when none is running),
	// or with previous the run before it.
	Container(namespace, pod, container string, previous bool) (Container, error)
	// Sandbox returns the ID of a pod's sandbox, for port forwarding.
	Sandbox(namespace, pod string) (string, error)
}

// PodNotFound is the error a Lookup returns for a pod the node does not run.
func PodNotFound(pod string) error {
	return notFoundError(fmt.Sprintf("pod %q does not exist", pod))
}

// ContainerNotFound is the error a Lookup returns for a container a pod does not have.
func ContainerNotFound(pod, container string) error {
	return notFoundError(fmt.Sprintf("container %q not found in pod %q", container, pod))
}

type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == runtime.ErrNotFound }

const (
	// pollInterval is how often a followed log file is checked for more lines.
	pollInterval = 200 * time.Millisecond
	// streamCreationTimeout bounds how long a client may take to open the streams of a
	// session, as the kubelet's.
	streamCreationTimeout = 30 * time.Second
	// idleTimeout closes a streaming connection nothing has crossed for this long; the
	// kubelet's default.
	idleTimeout = 4 * time.Hour
)

var _ http.Handler = (*handler)(nil)

type handler struct {
	rt        runtime.Runtime
	pods      Lookup
	authorize func(*http.Request) bool
	clock     clock.PassiveClock
	log       *slog.Logger
	mux       *http.ServeMux
}

// NewHandler returns the agent's streaming endpoint. Every request must pass
// cfg.Authorize, or it is answered 401.
func NewHandler(cfg Config) http.Handler {
	h := &handler{rt: cfg.Runtime, pods: cfg.Pods, authorize: cfg.Authorize, clock: cfg.Clock, log: cfg.Logger, mux: http.NewServeMux()}
	if h.clock == nil {
		h.clock = clock.RealClock{}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", h.serveLogs)
	for _, m := range []string{"GET", "POST"} {
		h.mux.HandleFunc(m+" /exec/{namespace}/{pod}/{container}", h.serveExec)
		h.mux.HandleFunc(m+" /exec/{namespace}/{pod}/{uid}/{container}", h.serveExec)
		h.mux.HandleFunc(m+" /attach/{namespace}/{pod}/{container}", h.serveAttach)
		h.mux.HandleFunc(m+" /attach/{namespace}/{pod}/{uid}/{container}", h.serveAttach)
		h.mux.HandleFunc(m+" /portForward/{namespace}/{pod}", h.servePortForward)
		h.mux.HandleFunc(m+" /portForward/{namespace}/{pod}/{uid}", h.servePortForward)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.authorize == nil || !h.authorize(r) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// lookupFailed answers a request whose Lookup failed.
func lookupFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, runtime.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// after returns a channel that receives once d has passed on the handler's clock.
func (h *handler) after(d time.Duration) <-chan time.Time {
	if c, ok := h.clock.(interface {
		After(time.Duration) <-chan time.Time
	}); ok {
		return c.After(d)
	}
	return time.After(d)
}
