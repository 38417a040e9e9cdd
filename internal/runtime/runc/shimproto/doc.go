// Package shimproto provides the protocol between podium's runc runtime (package
// runtime/runc, in the agent) and podium-shim, the small per-pod process that runs the
// pod's containers: the request and response messages, the frames of an attach stream,
// the on-disk container state file and the layout of a sandbox directory that both sides
// share. It imports only the standard library, so that the shim stays small.
//
// # Transport
//
// The shim listens on the unix socket SocketName in its sandbox directory. Each request
// is one connection: the client writes one Request as a line of JSON, the shim answers
// with one Response as a line of JSON and closes the connection, except after a
// successful OpAttach, where the connection goes on carrying frames (see Frame) until
// the container exits or either side closes it. Every Request and Response carries
// Version; a shim answers a request of another version with an error and does nothing.
//
// # Operations (Version 1)
//
//	OpHello     -> Response.Hello: the shim's version and pid.
//	OpCreate    Create -> State: record the container, created; nothing runs yet.
//	OpStart     ID -> State: runc run --detach. A container runc cannot run ends
//	            exited with code 128, and the Response has StartFailed set.
//	OpSignal    ID, Signal -> State: signal the container's init.
//	OpStop      ID, Signal, TimeoutMillis -> State: Signal, wait up to the timeout,
//	            SIGKILL, and answer once the container has exited.
//	OpWait      ID, TimeoutMillis -> State: answer when the container has exited or
//	            the timeout (0: none) has passed, whichever is first.
//	OpState     ID -> State.
//	OpList      -> States: every container the shim runs.
//	OpDelete    ID: kill the container if it runs, runc delete, forget it. Deleting an
//	            unknown container is not an error.
//	OpKillAll   -> States: SIGKILL every container and wait until all have exited.
//	OpShutdown  kill and delete every container, answer, remove the socket and exit.
//	OpAttach    ID, Attach: then frames in both directions. The client sends stdin,
//	            resize and stdin-close frames; the shim sends the container's output
//	            from the moment of attaching (no replay) and, when the container
//	            exits, an exit frame, and closes the connection. An attacher that
//	            falls behind is dropped rather than slowing the container.
//
// A Response with a non-empty Error failed; NotFound marks an unknown container.
//
// # State files
//
// The shim writes the state of every container to StateFile in the container's
// directory (ContainerDir) after each change, atomically (WriteState), so that the agent
// can read it (ReadState) when the shim is gone.
package shimproto
