package certificatesigningrequest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func request(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func certificate(t *testing.T) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func valid(t *testing.T) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Spec: certificatesv1.CertificateSigningRequestSpec{
		Request: request(t), SignerName: "example.com/signer", Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}
}

func condition(t certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue}
}

func TestValidate(t *testing.T) {
	s := New()
	tests := []struct {
		name   string
		change func(*certificatesv1.CertificateSigningRequest)
		want   string // "" for valid
	}{
		{name: "valid", change: func(*certificatesv1.CertificateSigningRequest) {}},
		{name: "not a request", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("hello") },
			want: "spec.request: Invalid value"},
		{name: "no usages", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil }, want: "spec.usages: Required value"},
		{name: "unknown usage", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = append(c.Spec.Usages, "flying") },
			want: `spec.usages[1]: Unsupported value: "flying"`},
		{name: "duplicate usage", change: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageClientAuth)
		},
			want: `spec.usages[1]: Duplicate value: "client auth"`},
		{name: "no signer", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" }, want: "spec.signerName: Required value"},
		{name: "signer without path", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com" },
			want: "must be a fully qualified domain and path"},
		{name: "signer of one label", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example/x" },
			want: "should be a domain with at least two segments"},
		{name: "legacy signer", change: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "kubernetes.io/legacy-unknown" },
			want: "the legacy signerName is not allowed via this API version"},
		{name: "short expiration", change: func(c *certificatesv1.CertificateSigningRequest) { s := int32(599); c.Spec.ExpirationSeconds = &s },
			want: "may not specify a duration less than 600 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid(t)
			tt.change(c)
			errs := s.Validate(c)
			if got := errs.ToAggregate(); (got == nil) != (tt.want == "") || got != nil && !strings.Contains(got.Error(), tt.want) {
				t.Errorf("Validate: %v, want %q", got, tt.want)
			}
		})
	}
}

// TestSubresources: approval writes only conditions, status only the certificate and
// other conditions, and what is issued stays.
func TestSubresources(t *testing.T) {
	s := New().(*strategy)
	old := valid(t)
	old.Spec.Username = "alice"

	// Approval: the spec and certificate of the write are ignored; conditions taken.
	approve := old.DeepCopy()
	approve.Spec.Username = "mallory"
	approve.Status.Certificate = certificate(t)
	approve.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{condition(certificatesv1.CertificateApproved)}
	s.PrepareForSubresourceUpdate("approval", approve, old)
	if approve.Spec.Username != "alice" || len(approve.Status.Certificate) > 0 || len(approve.Status.Conditions) != 1 ||
		approve.Status.Conditions[0].LastUpdateTime.IsZero() {
		t.Fatalf("after approval: %+v %+v", approve.Spec, approve.Status)
	}
	if errs := s.ValidateSubresourceUpdate("approval", approve, old); len(errs) > 0 {
		t.Fatalf("approval: %v", errs)
	}
	// Approved and Denied at once: refused.
	both := approve.DeepCopy()
	both.Status.Conditions = append(both.Status.Conditions, condition(certificatesv1.CertificateDenied))
	if errs := s.ValidateSubresourceUpdate("approval", both, old); !strings.Contains(errs.ToAggregate().Error(), "mutually exclusive") {
		t.Errorf("approved and denied: %v", errs)
	}

	// Status may not approve.
	self := old.DeepCopy()
	self.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{condition(certificatesv1.CertificateApproved)}
	s.PrepareForStatusUpdate(self, old)
	if errs := s.ValidateStatusUpdate(self, old); !strings.Contains(errs.ToAggregate().Error(), `updates may not add a condition of type "Approved"`) {
		t.Errorf("approving through status: %v", errs)
	}
	// Status issues the certificate once.
	issue := approve.DeepCopy()
	issue.Status.Certificate = certificate(t)
	s.PrepareForStatusUpdate(issue, approve)
	if errs := s.ValidateStatusUpdate(issue, approve); len(errs) > 0 {
		t.Fatalf("issuing: %v", errs)
	}
	again := issue.DeepCopy()
	again.Status.Certificate = certificate(t)
	if errs := s.ValidateStatusUpdate(again, issue); !strings.Contains(errs.ToAggregate().Error(), "may not modify existing certificate content") {
		t.Errorf("issuing again: %v", errs)
	}
	garbage := approve.DeepCopy()
	garbage.Status.Certificate = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	if errs := s.ValidateStatusUpdate(garbage, approve); len(errs) == 0 {
		t.Error("a certificate that does not parse is accepted")
	}
	// The main resource may not set the certificate; it keeps what was there.
	main := issue.DeepCopy()
	main.Status = certificatesv1.CertificateSigningRequestStatus{}
	s.PrepareForUpdate(main, issue)
	if len(main.Status.Certificate) == 0 {
		t.Error("an update of the main resource dropped the certificate")
	}
	if got := Condition(issue); got != "Approved,Issued" {
		t.Errorf("Condition = %q", got)
	}
}
