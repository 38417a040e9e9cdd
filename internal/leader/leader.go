// Package leader provides leader election among servers that share a datastore: a
// coordination.k8s.io Lease in kube-system per role (kube-controller-manager and
// kube-scheduler, as upstream names them) held by one server at a time, with
// upstream's timings (a lease of 15 s, renewed within 10 s, tried every 2 s).
//
// A server's identity is its host name and an ID kept in its data directory, so that
// a server that restarts takes its lease back at once rather than waiting for it to
// expire; another server takes it within the lease's duration after its holder dies.
// A holder that fails to renew in time has lost it, and stops what it led; the server
// then ends, as upstream's components and k3s's do, for its supervisor to restart.
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// The lease's timings. Upstream's defaults are 15 s, 10 s and 2 s. A candidate sees a
// lease expire up to two tries after its duration (it times the lease from when it saw
// the last renewal, which it looks for every try): 8 s and 1 s let another server take
// over within about 10 s of the leader's death, so that pods are scheduled again within
// 15 s.
const (
	LeaseDuration = 8 * time.Second
	RenewDeadline = 6 * time.Second
	RetryPeriod   = time.Second
)

// Identity returns the server's identity: HOSTNAME_ID, ID kept in dataDir/server-id
// (made on first use).
func Identity(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "server-id")
	id, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		id = []byte(hex.EncodeToString(b))
		if err := os.WriteFile(path, id, 0o600); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return host + "_" + strings.TrimSpace(string(id)), nil
}

// Run campaigns for the Lease kube-system/name as identity and runs lead while it holds
// it. It returns when ctx ends (releasing the lease, so that another server need not
// wait for it to expire), or after lead's context ended because the lease was lost;
// then lost is called.
func Run(ctx context.Context, client kubernetes.Interface, name, identity string, lead func(context.Context), lost func(error), log *slog.Logger) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   LeaseDuration,
		RenewDeadline:   RenewDeadline,
		RetryPeriod:     RetryPeriod,
		ReleaseOnCancel: true,
		Name:            name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("leading", "lease", name, "identity", identity)
				lead(ctx)
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					lost(fmt.Errorf("leader election lost: %s", name))
				}
			},
			OnNewLeader: func(holder string) {
				if holder != identity {
					log.Info("another server leads", "lease", name, "holder", holder)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	return nil
}
