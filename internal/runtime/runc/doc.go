// Package runc provides podium's built-in container runtime: pod sandboxes and their
// containers run with runc, behind the CRI-shaped runtime.Runtime interface.
//
// A sandbox is a directory under Config.StateDir holding its metadata, its network,
// IPC and UTS namespaces pinned as bind-mounted files (no pause process), the files
// every container of the pod shares (/etc/hosts, /etc/resolv.conf, /etc/hostname and a
// tmpfs for /dev/shm), and one directory per container, which is the container's OCI
// bundle. Each sandbox has a podium-shim process (cmd/podium-shim) that runs runc for
// its containers, reaps their init processes, writes their logs and records their exits
// on disk; the runtime talks to it over a unix socket (package shimproto). The shim
// outlives the process that started it, and a new Runtime on the same StateDir finds
// every sandbox and container again and talks to the same shims: nothing restarts.
//
// Exec runs `runc exec` from the calling process, so exec sessions end with it.
package runc
