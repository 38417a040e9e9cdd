package leader

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// TestIdentityIsKept: a server's identity is the same at every start from its data
// directory, and differs between data directories.
func TestIdentityIsKept(t *testing.T) {
	dir := t.TempDir()
	first, err := Identity(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Identity(dir)
	other, _ := Identity(t.TempDir())
	if first != again || first == other {
		t.Fatalf("identities %q, %q, another directory %q", first, again, other)
	}
}

// TestHandOver: one of two candidates leads; when it stops (releasing the lease) the
// other leads; neither reports a lost lease.
func TestHandOver(t *testing.T) {
	client := fake.NewClientset()
	log := slog.New(slog.DiscardHandler)
	leading := make(chan string, 2)
	lost := func(err error) { t.Errorf("lost: %v", err) }
	run := func(ctx context.Context, id string) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = Run(ctx, client, "kube-controller-manager", id, func(ctx context.Context) {
				leading <- id
				<-ctx.Done()
			}, lost, log)
		}()
		return done
	}
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := run(ctxA, "a")
	if got := <-leading; got != "a" {
		t.Fatalf("first leader %q", got)
	}
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneB := run(ctxB, "b")
	stopA()
	<-doneA
	select {
	case got := <-leading:
		if got != "b" {
			t.Fatalf("next leader %q", got)
		}
	case <-time.After(4 * RetryPeriod):
		t.Fatal("b never led after a released the lease")
	}
	stopB()
	<-doneB
}
