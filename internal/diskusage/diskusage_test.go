package diskusage

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOf(t *testing.T) {
	dir := t.TempDir()
	before, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i) // not a run of zeros a file system could leave unallocated
	}
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "a", "b", "f")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A hard link is counted once, a symbolic link is not followed.
	if err := os.Link(f, filepath.Join(dir, "hard")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr", filepath.Join(dir, "usr")); err != nil {
		t.Fatal(err)
	}
	got, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if grew := got - before; grew < 1<<20 || grew > 1<<20+64<<10 {
		t.Fatalf("1 MiB written, linked twice: usage grew by %d", grew)
	}
	if n, err := Of(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Fatalf("a missing path: %d, %v", n, err)
	}
}
