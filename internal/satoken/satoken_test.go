package satoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const issuer = "https://kubernetes.default.svc.cluster.local"

type objects struct {
	accounts map[string]*corev1.ServiceAccount
	pods     map[string]*corev1.Pod
	secrets  map[string]*corev1.Secret
}

func (o objects) ServiceAccount(ns, name string) (*corev1.ServiceAccount, bool) {
	sa, ok := o.accounts[ns+"/"+name]
	return sa, ok
}
func (o objects) Pod(ns, name string) (*corev1.Pod, bool) { p, ok := o.pods[ns+"/"+name]; return p, ok }
func (o objects) Secret(ns, name string) (*corev1.Secret, bool) {
	s, ok := o.secrets[ns+"/"+name]
	return s, ok
}
func (o objects) Node(string) (*corev1.Node, bool) { return nil, false }

func newKeys(t *testing.T) *Keys {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKeys(issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTokens(t *testing.T) {
	keys := newKeys(t)
	now := time.Unix(1_800_000_000, 0)
	keys.now = func() time.Time { return now }
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", UID: "sa-1"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "pod-1"}}
	objs := objects{accounts: map[string]*corev1.ServiceAccount{"ns/app": sa}, pods: map[string]*corev1.Pod{"ns/p": pod}, secrets: map[string]*corev1.Secret{}}
	a := NewAuthenticator(keys, []string{issuer}, objs)
	ctx := context.Background()
	issue := func(r Request) string {
		t.Helper()
		tok, _, err := keys.Issue(r)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := Request{Namespace: "ns", Account: Ref{Name: "app", UID: "sa-1"}, Audiences: []string{issuer}, Expiration: time.Hour}

	plain := issue(base)
	u, auds, err := a.AuthenticateToken(ctx, plain, nil)
	if err != nil || u.Name != "system:serviceaccount:ns:app" || u.UID != "sa-1" || len(auds) != 1 ||
		strings.Join(u.Groups, ",") != "system:serviceaccounts,system:serviceaccounts:ns,system:authenticated" {
		t.Fatalf("a plain token: %+v %v %v", u, auds, err)
	}
	// Claims as upstream names them.
	payload := strings.Split(plain, ".")[1]
	var claims map[string]any
	if err := json.Unmarshal(decodeSegment(t, payload), &claims); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "system:serviceaccount:ns:app" || claims["iss"] != issuer || claims["kubernetes.io"] == nil {
		t.Errorf("claims: %v", claims)
	}

	bound := base
	bound.Pod = &Ref{Name: "p", UID: "pod-1"}
	podToken := issue(bound)
	if u, _, err := a.AuthenticateToken(ctx, podToken, nil); err != nil || u.Extra["authentication.kubernetes.io/pod-name"][0] != "p" {
		t.Fatalf("a pod-bound token: %+v %v", u, err)
	}

	for name, tc := range map[string]struct {
		token     string
		audiences []string
		change    func()
		want      string
	}{
		"other audience":      {token: plain, audiences: []string{"vault"}, want: "audiences are invalid"},
		"expired":             {token: plain, change: func() { now = now.Add(2 * time.Hour) }, want: "expired"},
		"pod gone":            {token: podToken, change: func() { delete(objs.pods, "ns/p") }, want: "pod ns/p of the token is not found"},
		"pod made anew":       {token: podToken, change: func() { objs.pods["ns/p"] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "pod-2"}} }, want: "not the token's pod-1"},
		"account made anew":   {token: plain, change: func() { objs.accounts["ns/app"] = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{UID: "sa-2"}} }, want: "not the token's sa-1"},
		"tampered":            {token: plain[:len(plain)-4] + "AAAA", want: ErrNotOurs.Error()},
		"another key's token": {token: func() string { tok, _, _ := newKeys(t).Issue(base); return tok }(), want: ErrNotOurs.Error()},
		"not a token":         {token: "abc", want: ErrNotOurs.Error()},
	} {
		t.Run(name, func(t *testing.T) {
			saved, savedPods, savedNow := *sa, map[string]*corev1.Pod{"ns/p": pod}, now
			defer func() {
				objs.accounts["ns/app"], now = &saved, savedNow
				for k, v := range savedPods {
					objs.pods[k] = v
				}
			}()
			if tc.change != nil {
				tc.change()
			}
			now = now.Add(CacheTTL + time.Second) // past what the cache keeps
			if _, _, err := a.AuthenticateToken(ctx, tc.token, tc.audiences); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}

	// A legacy token is good while its Secret holds it.
	legacy, err := keys.IssueLegacy("ns", "app-token", Ref{Name: "app", UID: "sa-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.AuthenticateToken(ctx, legacy, nil); err == nil {
		t.Error("a legacy token without its secret works")
	}
	objs.secrets["ns/app-token"] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "app-token", Namespace: "ns", UID: types.UID("s-1"),
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "app"}}, Type: corev1.SecretTypeServiceAccountToken,
		Data: map[string][]byte{corev1.ServiceAccountTokenKey: []byte(legacy)}}
	if u, _, err := a.AuthenticateToken(ctx, legacy, nil); err != nil || u.Name != "system:serviceaccount:ns:app" {
		t.Errorf("a legacy token with its secret: %+v %v", u, err)
	}
	objs.secrets["ns/app-token"].Data[corev1.ServiceAccountTokenKey] = []byte("another")
	if _, _, err := a.AuthenticateToken(ctx, legacy, nil); err != nil {
		t.Errorf("a legacy token within the cache's time: %v", err)
	}
	if _, _, err := a.AuthenticateTokenUncached(legacy, nil); err == nil || !strings.Contains(err.Error(), "does not match its secret") {
		t.Errorf("a legacy token its secret no longer holds: %v", err)
	}
	now = now.Add(CacheTTL + time.Second)
	if _, _, err := a.AuthenticateToken(ctx, legacy, nil); err == nil {
		t.Error("a legacy token its secret no longer holds, past the cache's time, works")
	}
}

func TestDiscovery(t *testing.T) {
	keys := newKeys(t)
	var doc map[string]any
	if err := json.Unmarshal(keys.Discovery(""), &doc); err != nil || doc["issuer"] != issuer || doc["jwks_uri"] != issuer+JWKSPath {
		t.Errorf("discovery: %v %v", doc, err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(keys.JWKS(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != keys.kid || set.Keys[0]["d"] != nil {
		t.Errorf("jwks (no private part): %v %v", set, err)
	}
}

func decodeSegment(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
