package agent

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteVolume: a volume holds exactly the latest payload, switched through ..data;
// names that left it disappear, and an unchanged payload writes nothing.
func TestWriteVolume(t *testing.T) {
	dir := t.TempDir()
	// A file of the older, flat layout is replaced.
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(files map[string]fileContent) {
		t.Helper()
		if err := writeVolume(dir, files); err != nil {
			t.Fatal(err)
		}
	}
	names := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		sort.Strings(out)
		return out
	}
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(data)
	}
	write(map[string]fileContent{"a": {data: []byte("one"), mode: 0o644}, "sub/b": {data: []byte("two"), mode: 0o400}})
	if read("a") != "one" || read("sub/b") != "two" || len(names()) != 4 { // a, sub, ..data, ..<timestamp>
		t.Fatalf("first payload: %v a=%q b=%q", names(), read("a"), read("sub/b"))
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub/b")); err != nil || fi.Mode().Perm() != 0o400 {
		t.Fatalf("mode of sub/b: %v %v", fi, err)
	}
	before := names()
	write(map[string]fileContent{"a": {data: []byte("one"), mode: 0o644}, "sub/b": {data: []byte("two"), mode: 0o400}})
	if after := names(); len(after) != len(before) || after[1] != before[1] {
		t.Fatalf("an unchanged payload was written again: %v then %v", before, after)
	}
	write(map[string]fileContent{"c": {data: []byte("three"), mode: 0o644}})
	if got := names(); len(got) != 3 || read("c") != "three" {
		t.Fatalf("second payload: %v", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Fatalf("a name that left the payload is still there: %v", err)
	}
	if err := writeVolume(dir, map[string]fileContent{"../escape": {data: []byte("x"), mode: 0o644}}); err == nil {
		t.Fatal("a path leaving the volume was written")
	}
}

// TestWriteVolumeReaderNeverSeesAMix: a reader that loops over the files of ..data while
// the payload switches back and forth reads either the old set or the new one, never one
// file of each.
func TestWriteVolumeReaderNeverSeesAMix(t *testing.T) {
	dir := t.TempDir()
	payload := func(v string) map[string]fileContent {
		return map[string]fileContent{"x": {data: []byte(v), mode: 0o644}, "y": {data: []byte(v), mode: 0o644}}
	}
	if err := writeVolume(dir, payload("0")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	result := make(chan string, 1)
	go func() {
		reads := 0
		for {
			select {
			case <-done:
				result <- fmt.Sprintf("%d consistent reads", reads)
				return
			default:
			}
			d, err := os.Open(filepath.Join(dir, dataLink))
			if err != nil {
				continue // between a switch and the clean-up of the old directory
			}
			x, errX := readAt(d, "x")
			y, errY := readAt(d, "y")
			d.Close()
			if errX != nil || errY != nil {
				continue // the directory went away under us: a retry, not a mix
			}
			if x != y {
				result <- fmt.Sprintf("MIX: x=%q y=%q", x, y)
				return
			}
			reads++
		}
	}()
	for i := 1; i <= 300; i++ {
		if err := writeVolume(dir, payload(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if got := <-result; strings.HasPrefix(got, "MIX") || strings.HasPrefix(got, "0 ") {
		t.Fatal(got) // a mix, or a reader that never read a set
	}
}

// readAt reads name inside the open directory d.
func readAt(d *os.File, name string) (string, error) {
	fd, err := unix.Openat(int(d.Fd()), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := io.ReadAll(f)
	return string(data), err
}
