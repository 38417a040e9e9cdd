package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestDiskSpace: below the reserve, writes get 507 with a message that names the data
// directory; above it, nothing.
func TestDiskSpace(t *testing.T) {
	dir := t.TempDir()
	clk := clocktesting.NewFakePassiveClock(time.Now())
	d := &diskSpace{dir: dir, reserve: 1 << 62, clock: clk}
	err := d.check()
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != http.StatusInsufficientStorage ||
		!strings.Contains(err.Error(), "the data directory "+dir+" has ") || !strings.Contains(err.Error(), "writes are refused until space is freed") {
		t.Fatalf("with too little space: %v", err)
	}
	d.reserve = 0
	clk.SetTime(clk.Now().Add(time.Second))
	if err := d.check(); err != nil {
		t.Fatalf("with space: %v", err)
	}
}
