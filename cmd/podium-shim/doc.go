// Command podium-shim provides the per-pod monitor of podium's runc runtime: one
// process per pod, started by the agent and outliving it, that runs the pod's containers
// with runc (runc run, when the agent starts one), is the subreaper of their init processes (so it learns
// their exit codes), copies their stdout and stderr to CRI log files, records exits and
// OOM kills in a state file per container, and answers the agent on a unix socket (the
// protocol is in package runtime/runc/shimproto).
//
// Usage (the agent runs it; the working directory is the sandbox directory):
//
//	podium-shim -id SANDBOX_ID -runc /usr/sbin/runc -root RUNC_ROOT
//
// When file descriptor 3 is open, the shim writes "ok\n" to it once it listens, or an
// error message if it cannot start, and closes it.
//
// The shim links only the standard library, golang.org/x/sys and shimproto, so that it
// costs a megabyte or two of memory per pod.
//
// If the shim dies, its containers keep running but lose their log copier: their
// writes to stdout and stderr fail from then on (a container's PID 1 gets EPIPE, since
// it ignores SIGPIPE; other processes die of SIGPIPE), attach no longer works, and their
// exit codes are lost, because their init processes are reparented past the shim. The
// runtime then reports the sandbox not ready, a container whose process is gone as
// exited with code 255, and cleans up with runc directly. Nothing restarts a shim.
package main
