package admission

import (
	"context"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/podium/podium/internal/auth"
)

// The requester is the request's user, whatever the client wrote in the spec.
func TestCertificateRequestsRequester(t *testing.T) {
	ctx := auth.WithUser(context.Background(), &auth.User{Name: "alice", UID: "u-1", Groups: []string{"devs"},
		Extra: map[string][]string{"scopes": {"read"}}})
	csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
		SignerName: "example.com/signer", Username: "admin", UID: "forged", Groups: []string{"system:masters"},
		Extra: map[string]certificatesv1.ExtraValue{"forged": {"yes"}}}}
	if err := (CertificateRequests{}).ValidateCreate(ctx, csr); err != nil {
		t.Fatal(err)
	}
	s := csr.Spec
	if s.Username != "alice" || s.UID != "u-1" || len(s.Groups) != 1 || s.Groups[0] != "devs" ||
		len(s.Extra) != 1 || len(s.Extra["scopes"]) != 1 || s.Extra["scopes"][0] != "read" {
		t.Fatalf("requester %+v", s)
	}
}
