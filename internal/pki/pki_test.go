package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ensure runs Ensure and fails the test on error.
func ensure(t *testing.T, f Files, sans []string) *Credentials {
	t.Helper()
	c, err := Ensure(f, sans)
	if err != nil {
		t.Fatalf("Ensure(%v): %v", sans, err)
	}
	return c
}

// leaf parses the serving certificate of c.
func leaf(t *testing.T, c *Credentials) *x509.Certificate {
	t.Helper()
	if len(c.Serving.Certificate) == 0 {
		t.Fatal("no serving certificate")
	}
	cert, err := x509.ParseCertificate(c.Serving.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// verify checks the serving certificate of c against its CA for host.
func verify(t *testing.T, c *Credentials, host string) error {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	_, err := leaf(t, c).Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func TestEnsureMakesSecretsPrivate(t *testing.T) {
	f := Files{Dir: filepath.Join(t.TempDir(), "data")}
	c := ensure(t, f, []string{"localhost", "127.0.0.1"})
	if c.AdminToken == "" || c.JoinToken == "" || c.AdminToken == c.JoinToken {
		t.Errorf("tokens admin %q join %q: want two different non-empty tokens", c.AdminToken, c.JoinToken)
	}
	tests := []struct {
		name string
		path string
		want fs.FileMode
	}{
		{name: "CA key", path: f.CAKey(), want: 0o600},
		{name: "server key", path: f.ServerKey(), want: 0o600},
		{name: "admin token", path: f.AdminToken(), want: 0o600},
		{name: "join token", path: f.JoinToken(), want: 0o600},
		{name: "tls dir", path: filepath.Dir(f.CACert()), want: fs.ModeDir | 0o700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != tt.want {
				t.Errorf("%s has mode %v, want %v", tt.path, st.Mode(), tt.want)
			}
		})
	}
	for _, p := range []string{f.CACert(), f.ServerCert()} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s has mode %v: writable by others", p, st.Mode())
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(f.Dir, "*", "*.tmp"))
	more, _ := filepath.Glob(filepath.Join(f.Dir, "*.tmp"))
	if all := append(leftovers, more...); len(all) > 0 {
		t.Errorf("temporary files left: %v", all)
	}
}

func TestEnsureReusesCredentials(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	sans := []string{"localhost", "127.0.0.1"}
	first := ensure(t, f, sans)
	second := ensure(t, f, sans)
	if !bytes.Equal(first.CAPEM, second.CAPEM) {
		t.Error("second Ensure made a new CA")
	}
	if !bytes.Equal(first.Serving.Certificate[0], second.Serving.Certificate[0]) {
		t.Error("second Ensure made a new serving certificate for the same names")
	}
	if first.AdminToken != second.AdminToken || first.JoinToken != second.JoinToken {
		t.Errorf("tokens changed: admin %q -> %q, join %q -> %q", first.AdminToken, second.AdminToken, first.JoinToken, second.JoinToken)
	}
	// A subset of the names the certificate carries needs no new one either.
	third := ensure(t, f, []string{"localhost"})
	if !bytes.Equal(first.Serving.Certificate[0], third.Serving.Certificate[0]) {
		t.Error("Ensure with fewer names made a new serving certificate")
	}
}

func TestEnsureRemakesServingForNewSAN(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	first := ensure(t, f, []string{"localhost", "127.0.0.1"})
	if err := verify(t, first, "api.example.com"); err == nil {
		t.Fatal("first serving certificate verifies for a name it was not made for")
	}
	second := ensure(t, f, []string{"localhost", "127.0.0.1", "api.example.com"})
	if !bytes.Equal(first.CAPEM, second.CAPEM) {
		t.Error("a new SAN made a new CA")
	}
	if bytes.Equal(first.Serving.Certificate[0], second.Serving.Certificate[0]) {
		t.Fatal("a new SAN kept the old serving certificate")
	}
	if first.AdminToken != second.AdminToken || first.JoinToken != second.JoinToken {
		t.Error("a new SAN changed the tokens")
	}
	// Another new address, an IP this time.
	third := ensure(t, f, []string{"localhost", "127.0.0.1", "api.example.com", "10.1.2.3"})
	if bytes.Equal(second.Serving.Certificate[0], third.Serving.Certificate[0]) {
		t.Fatal("a new IP SAN kept the old serving certificate")
	}
	if err := verify(t, third, "10.1.2.3"); err != nil {
		t.Errorf("remade certificate does not verify for the new IP: %v", err)
	}
}

func TestServingVerifiesAgainstCA(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	c := ensure(t, f, HostSANs("10.43.0.1", "10.42.0.0/16", []string{"api.example.com", "192.0.2.7"}))
	tests := []struct {
		host string
		ok   bool
	}{
		{host: "localhost", ok: true},
		{host: "127.0.0.1", ok: true},
		{host: "kubernetes.default.svc", ok: true},
		{host: "api.example.com", ok: true},
		{host: "192.0.2.7", ok: true},
		{host: "10.43.0.1", ok: true},
		{host: "other.example.com"},
		{host: "192.0.2.8"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := verify(t, c, tt.host)
			if (err == nil) != tt.ok {
				t.Errorf("verify for %q: %v, want ok %v", tt.host, err, tt.ok)
			}
		})
	}
	// The files on disk are what Ensure returned.
	caPEM, err := os.ReadFile(f.CACert())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(caPEM, c.CAPEM) {
		t.Error("ca.crt differs from the returned CA")
	}
	for path, want := range map[string]string{f.AdminToken(): c.AdminToken, f.JoinToken(): c.JoinToken} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(data)); got != want {
			t.Errorf("%s holds %q, want %q", path, got, want)
		}
	}
}

func TestEnsureRemakesServingWhenCAChanges(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	sans := []string{"localhost"}
	first := ensure(t, f, sans)
	for _, p := range []string{f.CACert(), f.CAKey()} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	second := ensure(t, f, sans)
	if bytes.Equal(first.CAPEM, second.CAPEM) {
		t.Fatal("CA was not remade")
	}
	if err := verify(t, second, "localhost"); err != nil {
		t.Errorf("serving certificate does not verify against the new CA: %v", err)
	}
}

func TestReadJoinToken(t *testing.T) {
	t.Run("no data dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "missing")
		_, err := ReadJoinToken(Files{Dir: dir})
		if err == nil {
			t.Fatal("ReadJoinToken without a data dir succeeded")
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v is not fs.ErrNotExist", err)
		}
		for _, want := range []string{"--data-dir", dir} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("empty token file", func(t *testing.T) {
		f := Files{Dir: t.TempDir()}
		if err := os.WriteFile(f.JoinToken(), []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if tok, err := ReadJoinToken(f); err == nil {
			t.Errorf("ReadJoinToken of an empty file = %q, want an error", tok)
		}
	})
	t.Run("after Ensure", func(t *testing.T) {
		f := Files{Dir: t.TempDir()}
		c := ensure(t, f, []string{"localhost"})
		got, err := ReadJoinToken(f)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.JoinToken {
			t.Errorf("ReadJoinToken = %q, want %q", got, c.JoinToken)
		}
	})
}

func TestIssueClient(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	creds, err := Ensure(f, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := IssueClient(f, "erin", []string{"devs", "ops"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(creds.CAPEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the certificate does not verify as a client's: %v", err)
	}
	groups := slices.Sorted(slices.Values(cert.Subject.Organization)) // a DER SET keeps no order
	if cert.Subject.CommonName != "erin" || !slices.Equal(groups, []string{"devs", "ops"}) || time.Until(cert.NotAfter) > time.Hour {
		t.Fatalf("subject %v, not after %v", cert.Subject, cert.NotAfter)
	}
	if _, _, err := IssueClient(f, "", nil, time.Hour); err == nil {
		t.Fatal("a certificate without a user name")
	}
}
