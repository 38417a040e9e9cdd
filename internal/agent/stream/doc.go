// Package stream provides the node agent's HTTPS endpoint for the API server, on the
// kubelet's paths: container logs (/containerLogs), exec and attach (/exec, /attach, over
// WebSocket or SPDY/3.1 with the remotecommand protocols v1 to v5) and port forwarding
// (/portForward, over SPDY, SPDY tunnelled in a WebSocket, or WebSocket channels).
//
// The handler reads CRI-format log files itself and runs everything else through the
// runtime; it learns which container or sandbox a request names from a Lookup.
package stream
