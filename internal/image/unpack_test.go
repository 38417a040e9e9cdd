package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestApplyLayerRefusesEscapes(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		entries []tarEntry
	}{
		{"dot-dot", []tarEntry{file("../evil", 0o644, "x")}},
		{"dot-dot inside", []tarEntry{file("a/../../evil", 0o644, "x")}},
		{"through an absolute symlink", []tarEntry{symlink("link", "/"), file("link/evil", 0o644, "x")}},
		{"through a relative symlink", []tarEntry{symlink("up", ".."), file("up/evil", 0o644, "x")}},
		{"directory through a symlink", []tarEntry{symlink("up", ".."), dir("up/evil/", 0o755)}},
		{"whiteout through a symlink", []tarEntry{symlink("up", ".."), file("up/.wh.evil", 0o644, "")}},
		{"hard link out", []tarEntry{hardlink("l", "../evil-target")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			if err := os.WriteFile(filepath.Join(parent, "evil-target"), []byte("outside"), 0o644); err != nil {
				t.Fatal(err)
			}
			layer := filepath.Join(parent, "layer")
			if err := os.Mkdir(layer, 0o755); err != nil {
				t.Fatal(err)
			}
			err := applyLayer(context.Background(), layer, bytes.NewReader(tarBytes(t, tt.entries...)))
			if err == nil {
				t.Error("applyLayer: no error")
			}
			t.Logf("applyLayer: %v", err)
			if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
				t.Error("the layer wrote outside its directory")
			}
		})
	}
}

func TestApplyLayerReplacesEntries(t *testing.T) {
	requireRoot(t)
	layer := t.TempDir()
	err := applyLayer(context.Background(), layer, bytes.NewReader(tarBytes(t,
		dir("a/", 0o755),
		file("a/x", 0o644, "x"),
		file("a", 0o600, "a file now"), // replaces the directory
		file("b", 0o644, "first"),
		file("b", 0o640, "second"),
		symlink("c", "b"),
		file("c", 0o644, "not a link"), // replaces the link, not its target
		file("/abs/path", 0o644, "leading slash"),
		tarEntry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o600}},
		file("d", 0o644, "kept"),
		file(".wh.d", 0o644, ""), // hides lower layers' d only
		file(".wh.e", 0o644, ""),
		file("e", 0o644, "recreated"), // replaces the whiteout
		file(".wh..wh.plnk", 0o644, ""),
	)))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"a": "a file now", "b": "second", "c": "not a link", "abs/path": "leading slash", "d": "kept", "e": "recreated"} {
		if b, err := os.ReadFile(filepath.Join(layer, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if fi, err := os.Lstat(filepath.Join(layer, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("fifo: %v, %v", fi, err)
	}
	if names := dirNames(t, layer); slices.Contains(names, ".wh.plnk") || slices.Contains(names, ".wh..wh.plnk") {
		t.Errorf("aufs metadata unpacked: %v", names)
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "a/b", want: "a/b"},
		{in: "./a/b/", want: "a/b"},
		{in: "/a//b", want: "a/b"},
		{in: "./", want: ""},
		{in: "/", want: ""},
		{in: "a/../b", want: "b"},
		{in: "..", wantErr: true},
		{in: "../a", wantErr: true},
		{in: "a/../../b", wantErr: true},
		{in: "/../a", wantErr: true},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("cleanName(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
