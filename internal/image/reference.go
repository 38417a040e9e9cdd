package image

import (
	"fmt"

	"github.com/distribution/reference"
)

// imageRef is an image reference normalized as upstream (containerd, the kubelet)
// normalizes it: "nginx" is docker.io/library/nginx with tag latest.
type imageRef struct {
	name   string // "docker.io/library/nginx"
	tag    string // "latest"; empty when only a digest was given
	digest string // "sha256:..."; may be empty
}

func parseRef(s string) (imageRef, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return imageRef{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	r := imageRef{name: named.Name()}
	if t, ok := named.(reference.Tagged); ok {
		r.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.digest = d.Digest().String()
	}
	if r.tag == "" && r.digest == "" {
		r.tag = "latest"
	}
	return r, nil
}

// String is the reference a pull resolves: by digest when there is one.
func (r imageRef) String() string {
	if r.digest != "" {
		return r.name + "@" + r.digest
	}
	return r.name + ":" + r.tag
}

// refs are the names the image gets once pulled: its tag, if any, and name@target.
func (r imageRef) refs(target string) []string {
	var out []string
	if r.tag != "" {
		out = append(out, r.name+":"+r.tag)
	}
	out = append(out, r.name+"@"+target)
	if r.digest != "" && r.digest != target {
		out = append(out, r.name+"@"+r.digest)
	}
	return out
}

// domain is the registry host: "docker.io", "quay.io", "127.0.0.1:5000".
func (r imageRef) domain() string {
	named, _ := reference.ParseNamed(r.name)
	return reference.Domain(named)
}

// path is the repository within the registry: "library/nginx".
func (r imageRef) path() string {
	named, _ := reference.ParseNamed(r.name)
	return reference.Path(named)
}
