package agent

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
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
