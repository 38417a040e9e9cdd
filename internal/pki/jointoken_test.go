package pki

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestJoinTokenChecksTheServer(t *testing.T) {
	creds, err := Ensure(Files{Dir: t.TempDir()}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := FullJoinToken(creds.CAPEM, creds.JoinToken)
	if err != nil || !strings.HasPrefix(token, "K10") {
		t.Fatalf("token %q: %v", token, err)
	}
	hash, secret, err := ParseJoinToken(token)
	if err != nil || secret != creds.JoinToken || len(hash) != 32 {
		t.Fatalf("parse: %v %q", err, secret)
	}
	if _, s, err := ParseJoinToken(creds.JoinToken); err != nil || s != creds.JoinToken {
		t.Fatalf("bare secret: %v", err)
	}
	for _, bad := range []string{"", "K10zz::s", "K10" + strings.Repeat("ab", 32), "a:b"} {
		if _, _, err := ParseJoinToken(bad); err == nil {
			t.Errorf("ParseJoinToken(%q) accepted", bad)
		}
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{creds.Serving}}
	srv.StartTLS()
	defer srv.Close()
	dial := func(hash []byte) ([]byte, error) {
		var ca []byte
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: VerifyChainByHash(hash, &ca)})
		if err == nil {
			conn.Close()
		}
		return ca, err
	}
	ca, err := dial(hash)
	if err != nil || string(ca) != string(creds.CAPEM) {
		t.Fatalf("right hash: %v", err)
	}
	wrong := append([]byte(nil), hash...)
	wrong[0] ^= 1
	if _, err := dial(wrong); err == nil {
		t.Fatal("a server with another CA was accepted")
	}
}
