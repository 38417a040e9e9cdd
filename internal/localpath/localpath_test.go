package localpath

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestCreateAndRemove: a directory is made writable by all under the root and removed
// with its contents; a symbolic link inside it is removed, not followed.
func TestCreateAndRemove(t *testing.T) {
	root := filepath.Join(t.TempDir(), "storage")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Handler(root)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/localPath/pvc-1_default_data", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	var created Created
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if created.Path != filepath.Join(root, "pvc-1_default_data") {
		t.Fatalf("path %q", created.Path)
	}
	fi, err := os.Stat(created.Path)
	if err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("directory: %v %v", fi, err)
	}
	if err := os.Symlink(outside, filepath.Join(created.Path, "escape")); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/localPath/pvc-1_default_data", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if _, err := os.Stat(created.Path); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Fatalf("the link was followed: %v", err)
	}
}

// TestNamesStayInside: names that could leave the root are refused (400, or a
// redirect to the cleaned path) and make nothing.
func TestNamesStayInside(t *testing.T) {
	root := t.TempDir()
	h := Handler(root)
	for _, name := range []string{"..", ".", "a%2F..%2F..%2Fetc", "UPPER", "a%20b"} {
		for _, method := range []string{http.MethodPost, http.MethodDelete} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, "/localPath/"+name, nil))
			if rec.Code < 300 {
				t.Errorf("%s %q: %d", method, name, rec.Code)
			}
		}
	}
	if err := ValidName("../x"); err == nil {
		t.Error("../x is valid")
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Errorf("made %v", entries)
	}
}
