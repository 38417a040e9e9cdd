package satoken

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// LegacyIssuer is the issuer of the tokens of service account token Secrets.
const LegacyIssuer = "kubernetes/serviceaccount"

// Ref names an object: a service account, or what a token is bound to.
type Ref struct {
	Name string    `json:"name"`
	UID  types.UID `json:"uid"`
}

// private are the claims upstream keeps under "kubernetes.io".
type private struct {
	Namespace      string           `json:"namespace,omitempty"`
	ServiceAccount *Ref             `json:"serviceaccount,omitempty"`
	Pod            *Ref             `json:"pod,omitempty"`
	Secret         *Ref             `json:"secret,omitempty"`
	Node           *Ref             `json:"node,omitempty"`
	WarnAfter      *jwt.NumericDate `json:"warnafter,omitempty"`
}

type claims struct {
	jwt.Claims
	Kubernetes *private `json:"kubernetes.io,omitempty"`
}

// legacyClaims are the claims of a Secret's token.
type legacyClaims struct {
	jwt.Claims
	Namespace string `json:"kubernetes.io/serviceaccount/namespace"`
	Secret    string `json:"kubernetes.io/serviceaccount/secret.name"`
	Account   string `json:"kubernetes.io/serviceaccount/service-account.name"`
	AccountID string `json:"kubernetes.io/serviceaccount/service-account.uid"`
}

// Request is what a token is asked for with.
type Request struct {
	Namespace string
	Account   Ref
	Audiences []string
	// Expiration is how long the token is valid.
	Expiration time.Duration
	// Pod, Secret or Node, when set, is what the token is bound to (a pod's node is
	// recorded too).
	Pod, Secret, Node *Ref
}

// Keys signs and checks tokens.
type Keys struct {
	issuer string
	key    *ecdsa.PrivateKey
	kid    string
	signer jose.Signer
	now    func() time.Time
}

// NewKeys returns the keys of issuer (the iss of the tokens, a URL) around the service
// account signing key.
func NewKeys(issuer string, key *ecdsa.PrivateKey) (*Keys, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &Keys{issuer: issuer, key: key, kid: kid, signer: signer, now: time.Now}, nil
}

// Issuer is the iss of the tokens.
func (k *Keys) Issuer() string { return k.issuer }

// Issue signs a bound token; it returns the token and when it expires.
func (k *Keys) Issue(r Request) (string, time.Time, error) {
	if r.Expiration <= 0 || len(r.Audiences) == 0 {
		return "", time.Time{}, errors.New("a token needs audiences and an expiration")
	}
	now := k.now()
	exp := now.Add(r.Expiration)
	c := claims{
		Claims: jwt.Claims{
			Issuer: k.issuer, Subject: ServiceAccountUser(r.Namespace, r.Account.Name), Audience: jwt.Audience(r.Audiences),
			Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ID: string(uuid.NewUUID()),
		},
		Kubernetes: &private{Namespace: r.Namespace, ServiceAccount: &r.Account, Pod: r.Pod, Secret: r.Secret, Node: r.Node},
	}
	token, err := jwt.Signed(k.signer).Claims(c).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing a token: %w", err)
	}
	return token, exp, nil
}

// IssueLegacy signs the token of a service account token Secret: it does not expire
// and is valid while the Secret holds it.
func (k *Keys) IssueLegacy(namespace, secret string, account Ref) (string, error) {
	c := legacyClaims{
		Claims:    jwt.Claims{Issuer: LegacyIssuer, Subject: ServiceAccountUser(namespace, account.Name)},
		Namespace: namespace, Secret: secret, Account: account.Name, AccountID: string(account.UID),
	}
	return jwt.Signed(k.signer).Claims(c).Serialize()
}

// ServiceAccountUser is the user name of a service account.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}
