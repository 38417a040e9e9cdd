package localpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// Created is the answer to a POST: where the directory is on the node.
type Created struct {
	Path string `json:"path"`
}

// ValidName reports whether name may name a directory under the root.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 253 {
		return fmt.Errorf("invalid volume directory name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return fmt.Errorf("invalid volume directory name %q", name)
		}
	}
	return nil
}

// Handler serves the directories below root.
func Handler(root string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /localPath/{name}", func(w http.ResponseWriter, r *http.Request) {
		dir, err := Create(root, r.PathValue("name"))
		if err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Created{Path: dir})
	})
	mux.HandleFunc("DELETE /localPath/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := Remove(root, r.PathValue("name")); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, errInvalid) {
		code = http.StatusBadRequest
	}
	http.Error(w, err.Error(), code)
}

var errInvalid = errors.New("invalid")

// Create makes the directory name below root, writable by any container user, and
// returns its absolute path. Making one that exists is not an error.
func Create(root, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("%w: %w", errInvalid, err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", err
	}
	dir := filepath.Join(abs, name)
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return dir, os.Chmod(dir, 0o777) // past the umask
}

// Remove deletes the directory name below root and all in it; one that is gone is
// not an error.
func Remove(root, name string) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	return os.RemoveAll(filepath.Join(root, name))
}
