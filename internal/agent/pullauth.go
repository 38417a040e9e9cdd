package agent

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// dockerAuth returns the credentials an image pull secret holds for image's registry.
func dockerAuth(sec *corev1.Secret, image string) *runtimeapi.AuthConfig {
	var auths map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	switch sec.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths json.RawMessage `json:"auths"`
		}
		if json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg) != nil || json.Unmarshal(cfg.Auths, &auths) != nil {
			return nil
		}
	case corev1.SecretTypeDockercfg:
		if json.Unmarshal(sec.Data[corev1.DockerConfigKey], &auths) != nil {
			return nil
		}
	default:
		return nil
	}
	registry := imageRegistry(image)
	for server, a := range auths {
		if registryHost(server) != registry {
			continue
		}
		out := &runtimeapi.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: server}
		if a.Auth != "" && out.Username == "" {
			if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				if u, p, ok := strings.Cut(string(raw), ":"); ok {
					out.Username, out.Password = u, p
				}
			}
		}
		return out
	}
	return nil
}

// imageRegistry returns the registry host of an image reference (docker.io by default).
func imageRegistry(image string) string {
	first, _, found := strings.Cut(image, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return "docker.io"
	}
	return first
}

// registryHost normalizes a docker config key ("https://index.docker.io/v1/") to a host.
func registryHost(server string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	if s == "index.docker.io" || s == "registry-1.docker.io" {
		return "docker.io"
	}
	return s
}
