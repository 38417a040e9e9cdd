package image

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// index is the store's catalogue, kept in Root/index.json. An image is present
// exactly when it is in Images; references are names for images. Every blob and layer
// an image lists exists on disk before the image is added.
type index struct {
	// Images by ID (the config digest, "sha256:...").
	Images map[string]*imageRecord `json:"images"`
	// Refs by normalized reference: "docker.io/library/nginx:latest" or
	// "docker.io/library/nginx@sha256:...".
	Refs map[string]refRecord `json:"refs"`
}

type imageRecord struct {
	ID       string        `json:"id"`       // config digest
	Manifest string        `json:"manifest"` // digest of the platform's image manifest
	Layers   []layerRecord `json:"layers"`   // bottom first, as in the manifest
	Size     int64         `json:"size"`     // sum of the compressed layer sizes
	User     string        `json:"user,omitempty"`
}

type layerRecord struct {
	Digest    string `json:"digest"` // compressed blob
	DiffID    string `json:"diffID"` // uncompressed tar, names the unpacked directory
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType,omitempty"`
}

// refRecord is what a reference resolved to when it was pulled or imported.
type refRecord struct {
	Image  string `json:"image"`  // image ID
	Target string `json:"target"` // digest of the manifest or index the name pointed to
}

func newIndex() *index {
	return &index{Images: map[string]*imageRecord{}, Refs: map[string]refRecord{}}
}

var (
	fullIDPattern   = regexp.MustCompile(`^(sha256:)?[0-9a-f]{64}$`)
	idPrefixPattern = regexp.MustCompile(`^(sha256:)?[0-9a-f]{1,63}$`)
)

// resolve finds the image s names: an image ID (with or without "sha256:"), a
// reference (normalized as upstream does: "nginx" is "docker.io/library/nginx:latest"),
// or a unique prefix of an ID. ref is the normalized reference when s named one. A
// malformed s resolves to nothing.
func (ix *index) resolve(s string) (img *imageRecord, ref string) {
	if fullIDPattern.MatchString(s) {
		return ix.Images["sha256:"+strings.TrimPrefix(s, "sha256:")], ""
	}
	if r, err := parseRef(s); err == nil {
		key := r.String()
		if rr, ok := ix.Refs[key]; ok {
			if img := ix.Images[rr.Image]; img != nil {
				return img, key
			}
		}
		if r.digest != "" {
			// Content is named by digest whatever the repository: an image pulled
			// under one name is present under another with the same digest.
			if img := ix.byTarget(r.digest); img != nil {
				return img, key
			}
		}
	}
	if idPrefixPattern.MatchString(s) {
		prefix := "sha256:" + strings.TrimPrefix(s, "sha256:")
		var found *imageRecord
		for id, img := range ix.Images {
			if strings.HasPrefix(id, prefix) {
				if found != nil {
					return nil, "" // ambiguous
				}
				found = img
			}
		}
		return found, ""
	}
	return nil, ""
}

// byTarget returns the image whose manifest, or a reference's target, is digest.
func (ix *index) byTarget(digest string) *imageRecord {
	for _, img := range ix.Images {
		if img.Manifest == digest {
			return img
		}
	}
	for _, r := range ix.Refs {
		if r.Target == digest {
			if img := ix.Images[r.Image]; img != nil {
				return img
			}
		}
	}
	return nil
}

// removeRef removes one name of an image. When it was the image's last tag, or when
// the name is a digest or an ID (ref == ""), the whole image goes with all its names.
func (ix *index) removeRef(img *imageRecord, ref string) {
	if ref != "" && !isDigestRef(ref) {
		tags := 0
		for k, r := range ix.Refs {
			if r.Image == img.ID && !isDigestRef(k) {
				tags++
			}
		}
		if tags > 1 {
			delete(ix.Refs, ref)
			repo := repoOf(ref)
			for k, r := range ix.Refs {
				if r.Image == img.ID && !isDigestRef(k) && repoOf(k) == repo {
					return // the repository still tags the image; keep its digests
				}
			}
			for k, r := range ix.Refs {
				if r.Image == img.ID && isDigestRef(k) && repoOf(k) == repo {
					delete(ix.Refs, k)
				}
			}
			return
		}
	}
	for k, r := range ix.Refs {
		if r.Image == img.ID {
			delete(ix.Refs, k)
		}
	}
	delete(ix.Images, img.ID)
}

// cri describes an image as CRI does: ID, RepoTags and RepoDigests sorted, size, and
// the user it runs as (a numeric user in Uid, a name in Username).
func (ix *index) cri(img *imageRecord) *runtimeapi.Image {
	var tags, digests []string
	seen := map[string]bool{}
	for k, r := range ix.Refs {
		if r.Image != img.ID {
			continue
		}
		if !isDigestRef(k) {
			tags = append(tags, k)
		}
		if d := repoOf(k) + "@" + r.Target; r.Target != "" && !seen[d] {
			seen[d] = true
			digests = append(digests, d)
		}
	}
	sort.Strings(tags)
	sort.Strings(digests)
	out := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    tags,
		RepoDigests: digests,
		Size:        uint64(img.Size),
		Spec:        &runtimeapi.ImageSpec{Image: img.ID},
	}
	user, _, _ := strings.Cut(img.User, ":")
	if user != "" {
		if uid, err := strconv.ParseInt(user, 10, 64); err == nil {
			out.Uid = &runtimeapi.Int64Value{Value: uid}
		} else {
			out.Username = user
		}
	}
	return out
}

// isDigestRef tells a normalized "name@sha256:..." from a "name:tag".
func isDigestRef(ref string) bool { return strings.Contains(ref, "@") }

// repoOf returns the repository of a normalized reference.
func repoOf(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i]
	}
	return ref
}
