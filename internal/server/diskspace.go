package server

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"golang.org/x/sys/unix"
)

// dataReserve is the free space the data directory keeps for etcd: a new WAL segment
// takes 64 MiB at once, and etcd stops the process when it cannot write its log. Below
// it, API writes are refused with a clear error until space returns.
const dataReserve = 128 << 20

// diskSpace tells whether the data directory has room for writes, reading the file
// system's free space at most once a second.
type diskSpace struct {
	dir     string
	reserve uint64
	clock   clock.PassiveClock

	mu      sync.Mutex
	checked time.Time
	free    uint64
	err     error
}

// check is the API server's WriteGuard: an error when the data directory's file system
// has less than the reserve free.
func (d *diskSpace) check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now := d.clock.Now(); now.Sub(d.checked) >= time.Second {
		var st unix.Statfs_t
		d.err = unix.Statfs(d.dir, &st)
		d.free, d.checked = st.Bavail*uint64(st.Bsize), now
	}
	if d.err != nil || d.free >= d.reserve {
		return nil // a file system that cannot be read is etcd's to report
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusInsufficientStorage, Reason: "InsufficientStorage",
		Message: fmt.Sprintf("the data directory %s has %d MiB free, less than the %d MiB kept for etcd: writes are refused until space is freed",
			d.dir, d.free>>20, d.reserve>>20),
	}}
}

// writeGuard returns the API server's WriteGuard: the embedded etcd's data directory
// keeps its reserve; an external etcd cluster looks after its own disks.
func writeGuard(cfg Config) func() error {
	if len(cfg.EtcdEndpoints) > 0 {
		return nil
	}
	d := &diskSpace{dir: cfg.DataDir, reserve: dataReserve, clock: clock.RealClock{}}
	return d.check
}
