package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// joinPrefix starts a full join token, as k3s's do: K10<sha256 of the CA>::<secret>.
const joinPrefix = "K10"

// FullJoinToken returns the token agents join with: the CA's hash and the join secret.
func FullJoinToken(caPEM []byte, secret string) (string, error) {
	block, _ := pem.Decode(caPEM)
	if block == nil {
		return "", errors.New("CA is not PEM")
	}
	sum := sha256.Sum256(block.Bytes)
	return joinPrefix + hex.EncodeToString(sum[:]) + "::" + secret, nil
}

// ParseJoinToken splits a full join token into the CA hash and the secret. A bare
// secret (no CA hash) gives a nil hash.
func ParseJoinToken(token string) (caHash []byte, secret string, err error) {
	token = strings.TrimSpace(token)
	rest, ok := strings.CutPrefix(token, joinPrefix)
	if !ok {
		if token == "" || strings.Contains(token, ":") {
			return nil, "", errors.New("malformed join token")
		}
		return nil, token, nil
	}
	hashHex, secret, ok := strings.Cut(rest, "::")
	if !ok || secret == "" || strings.Contains(secret, ":") {
		return nil, "", errors.New("malformed join token: want K10<CA hash>::<secret>")
	}
	caHash, err = hex.DecodeString(hashHex)
	if err != nil || len(caHash) != sha256.Size {
		return nil, "", errors.New("malformed join token: bad CA hash")
	}
	return caHash, secret, nil
}

// VerifyChainByHash returns a TLS peer check that accepts a server whose chain holds a
// CA with the given SHA-256 hash and a leaf that CA signed. It also returns the CA it
// found, through found, for the caller to keep.
func VerifyChainByHash(caHash []byte, found *[]byte) func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	return func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if len(rawCerts) < 2 {
			return errors.New("server sent no CA certificate to check the join token's hash against")
		}
		leaf, err := x509.ParseCertificate(rawCerts[0])
		if err != nil {
			return err
		}
		for _, raw := range rawCerts[1:] {
			sum := sha256.Sum256(raw)
			if hex.EncodeToString(sum[:]) != hex.EncodeToString(caHash) {
				continue
			}
			ca, err := x509.ParseCertificate(raw)
			if err != nil {
				return err
			}
			if err := leaf.CheckSignatureFrom(ca); err != nil {
				return fmt.Errorf("server certificate is not signed by the CA of the join token: %w", err)
			}
			if found != nil {
				*found = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: raw})
			}
			return nil
		}
		return errors.New("server's CA does not match the join token's CA hash")
	}
}

// CheckCAHash reports whether caPEM is the CA whose SHA-256 hash a full join token
// carries; a nil hash (a bare secret) checks nothing.
func CheckCAHash(caPEM, caHash []byte) error {
	if caHash == nil {
		return nil
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		return errors.New("CA is not PEM")
	}
	if sum := sha256.Sum256(block.Bytes); !bytes.Equal(sum[:], caHash) {
		return errors.New("the token's CA hash is not this cluster's CA: the token belongs to another cluster")
	}
	return nil
}
