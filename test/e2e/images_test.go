package e2e

import (
	"errors"
	"os"
	"testing"

	"github.com/podium/podium/test/images"
)

// seedRegistry serves the seed's images (nginx, busybox, subicura/echo) on loopback and
// points dataDir's registries.yaml at it.
func seedRegistry(t *testing.T, dataDir string) (host string) {
	t.Helper()
	imgs, err := images.Seed("../..")
	if errors.Is(err, images.ErrNoBusybox) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	host, stop, err := images.Serve(imgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if err := images.WriteMirror(dataDir, host); err != nil {
		t.Fatal(err)
	}
	return host
}
