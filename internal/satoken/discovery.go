package satoken

import (
	"encoding/json"

	"github.com/go-jose/go-jose/v4"
)

// Paths of the issuer discovery.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/openid/v1/jwks"
)

// Discovery is the OpenID provider configuration of the issuer, as upstream serves it:
// where its keys are, and what its tokens are like.
func (k *Keys) Discovery(jwksURI string) []byte {
	if jwksURI == "" {
		jwksURI = k.issuer + JWKSPath
	}
	doc, _ := json.Marshal(map[string]any{
		"issuer":                                k.issuer,
		"jwks_uri":                              jwksURI,
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
	})
	return doc
}

// JWKS is the issuer's public key set.
func (k *Keys) JWKS() []byte {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
	doc, _ := json.Marshal(set)
	return doc
}
