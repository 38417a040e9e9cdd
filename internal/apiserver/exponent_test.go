package apiserver

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// TestHugeExponent: a body with a quantity whose exponent would take the parser hours is
// a quick 400, in JSON, YAML and protobuf alike; ordinary numbers and base64 data that
// happen to hold such digits pass.
func TestHugeExponent(t *testing.T) {
	for _, body := range []string{
		`{"spec":{"containers":[{"resources":{"limits":{"cpu":"1e-2147483647"}}}]}}`,
		`{"limits":{"cpu":1E+999999}}`,
		"limits:\n  memory: 5e1000000\n",
		"\x0a\x0d1e-2147483647\x12",
	} {
		start := time.Now()
		err := checkExponents([]byte(body))
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "has an exponent out of range") {
			t.Errorf("%q: %v, want 400", body, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%q: checked in %s", body, d)
		}
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xd7\x7b\x5d\xb4\xd3\x4d\x35", 1000)))
	for _, body := range []string{
		`{"limits":{"cpu":"500m","memory":"1e9","storage":"1.5e+12"}}`,
		`{"data":{"k":"` + b64 + `"}}`,
		`{"data":{"k":"x9e1234567y"}}`,
	} {
		if err := checkExponents([]byte(body)); err != nil {
			t.Errorf("%.60q: %v", body, err)
		}
	}
}

// TestHugeExponentPod: the pod that would hold the server for hours is refused at once.
func TestHugeExponentPod(t *testing.T) {
	ts := newTestServer(t)
	ts.createNamespace(t, "ns")
	body := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox",` +
		`"resources":{"limits":{"cpu":"1e-2147483647"}}}]}}`
	resp := ts.do(t, request{method: "POST", path: "/api/v1/namespaces/ns/pods", token: adminToken, contentType: mediaJSON, body: []byte(body)})
	if resp.code != 400 || !strings.Contains(string(resp.body), "has an exponent out of range") {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
}
