package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PullImage fetches an image through the endpoints of registries.yaml (mirrors first,
// then the registry) and returns its ID. From an index it takes the manifest of this
// node's platform. An image already present under the digest the reference resolves
// to is not fetched again; concurrent pulls of one reference with the same
// credentials are done once.
func (s *store) PullImage(ctx context.Context, spec *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig) (string, error) {
	if spec.GetImage() == "" {
		return "", errors.New("pull: no image given")
	}
	ref, err := parseRef(spec.GetImage())
	if err != nil {
		return "", err
	}
	return s.pulls.do(ctx, ref.String()+" "+authKey(auth), func(ctx context.Context) (string, error) {
		return s.pull(ctx, ref, auth)
	})
}

// authKey tells credentials apart without keeping them.
func authKey(auth *runtimeapi.AuthConfig) string {
	if auth == nil {
		return ""
	}
	h := sha256.New()
	for _, f := range []string{auth.GetUsername(), auth.GetPassword(), auth.GetAuth(), auth.GetServerAddress(), auth.GetIdentityToken(), auth.GetRegistryToken()} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *store) pull(ctx context.Context, ref imageRef, auth *runtimeapi.AuthConfig) (string, error) {
	if ref.digest != "" {
		if id, ok, err := s.present(ref, ref.digest); ok || err != nil {
			return id, err
		}
	}
	start := time.Now()
	var errs []error
	for _, ep := range s.reg.endpoints(ref) {
		id, err := s.pullFrom(ctx, ref, ep, auth)
		if err == nil {
			s.log.Info("pulled image", "image", ref.String(), "id", id, "endpoint", ep.url.Redacted(), "duration", time.Since(start).Round(time.Millisecond))
			return id, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("pull %s: %w", ref, ctx.Err())
		}
		s.log.Debug("pull from endpoint failed", "image", ref.String(), "endpoint", ep.url.Redacted(), "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", ep.url.Redacted(), err))
	}
	return "", fmt.Errorf("pull %s: %w", ref, errors.Join(errs...))
}

func (s *store) pullFrom(ctx context.Context, ref imageRef, ep endpoint, auth *runtimeapi.AuthConfig) (string, error) {
	gref, err := ep.reference(ref)
	if err != nil {
		return "", err
	}
	t, err := s.reg.transport(ep)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(t),
		remote.WithAuth(ep.authenticator(auth)),
		remote.WithPlatform(s.platform),
		remote.WithUserAgent("podium"),
	}
	desc, err := remote.Get(gref, opts...)
	if err != nil {
		return "", err
	}
	target := desc.Digest.String()
	if id, ok, err := s.present(ref, target); ok || err != nil {
		return id, err
	}
	img, err := desc.Image()
	if err != nil {
		return "", err
	}
	var extra map[string][]byte
	if desc.MediaType.IsIndex() {
		extra = map[string][]byte{target: desc.Manifest}
	}
	rec, err := s.add(ctx, imageSource{img}, target, extra, ref.refs(target))
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// present names with ref an image already stored whose manifest (or an index holding
// it) has digest target, and reports whether there was one.
func (s *store) present(ref imageRef, target string) (string, bool, error) {
	refs := ref.refs(target)
	ix, err := s.readIndex()
	if err != nil {
		return "", false, err
	}
	img := ix.byTarget(target)
	if img == nil || !s.complete(img) {
		return "", false, nil
	}
	named := true
	for _, r := range refs {
		if rr, ok := ix.Refs[r]; !ok || rr.Image != img.ID || rr.Target != target {
			named = false
		}
	}
	if named {
		return img.ID, true, nil
	}
	var id string
	err = s.update(func(ix *index) error {
		img := ix.byTarget(target)
		if img == nil || !s.complete(img) {
			return nil
		}
		id = img.ID
		for _, r := range refs {
			ix.Refs[r] = refRecord{Image: img.ID, Target: target}
		}
		return nil
	})
	return id, id != "", err
}
