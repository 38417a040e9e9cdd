package csrsigning

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/pki"
	csrs "github.com/podium/podium/internal/registry/certificatesigningrequest"
)

// MaxDuration is the longest a certificate is issued for, and how long one is when
// the request names no expirationSeconds (upstream's --cluster-signing-duration).
const MaxDuration = 365 * 24 * time.Hour

// minDuration is the shortest a certificate is issued for.
const minDuration = 10 * time.Minute

// Signer issues certificates; pki.CA is one.
type Signer interface {
	Sign(req *x509.CertificateRequest, usage pki.Usage, validity time.Duration) ([]byte, error)
}

// Controller signs approved requests.
type Controller struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	synced cache.InformerSynced
	ca     Signer
	loop   *reconcile.Loop
}

// New returns the controller on factory's CertificateSigningRequest informer, which the
// caller starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, ca Signer, log *slog.Logger) (*Controller, error) {
	inf := factory.Certificates().V1().CertificateSigningRequests()
	c := &Controller{client: client, csrs: inf.Lister(), synced: inf.Informer().HasSynced, ca: ca}
	c.loop = reconcile.New("csrsigning", c.sync, log)
	if _, err := inf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
			return csr.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.loop.Run(ctx, 2)
}

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	csr, err := c.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(csr.Status.Certificate) > 0 || !csrs.HasCondition(csr, certificatesv1.CertificateApproved) ||
		csrs.HasCondition(csr, certificatesv1.CertificateFailed) {
		return 0, nil
	}
	var check func(*x509.CertificateRequest) error
	switch csr.Spec.SignerName {
	case certificatesv1.KubeAPIServerClientSignerName:
		check = func(*x509.CertificateRequest) error { return csrs.ValidateAPIServerClient(csr.Spec.Usages) }
	case certificatesv1.KubeAPIServerClientKubeletSignerName:
		check = func(r *x509.CertificateRequest) error { return csrs.ValidateKubeletClient(r, csr.Spec.Usages) }
	case certificatesv1.KubeletServingSignerName:
		check = func(r *x509.CertificateRequest) error { return csrs.ValidateKubeletServing(r, csr.Spec.Usages) }
	default:
		return 0, nil // another signer's
	}
	req, err := csrs.ParseRequest(csr.Spec.Request)
	if err != nil {
		return 0, nil // validation keeps such requests out
	}
	next := csr.DeepCopy()
	if err := check(req); err != nil {
		next.Status.Conditions = append(next.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
			Reason: "SignerValidationFailure", Message: err.Error(), LastUpdateTime: metav1.Now(),
		})
	} else {
		usage, err := x509Usage(csr.Spec.Usages)
		if err != nil {
			return 0, err
		}
		if next.Status.Certificate, err = c.ca.Sign(req, usage, validity(csr.Spec.ExpirationSeconds)); err != nil {
			return 0, fmt.Errorf("signing %s: %w", name, err)
		}
	}
	_, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return 0, err
}

// validity is how long the certificate of a request is valid: what it asks for, between
// ten minutes and MaxDuration.
func validity(expirationSeconds *int32) time.Duration {
	if expirationSeconds == nil {
		return MaxDuration
	}
	return min(max(time.Duration(*expirationSeconds)*time.Second, minDuration), MaxDuration)
}

var keyUsages = map[certificatesv1.KeyUsage]x509.KeyUsage{
	certificatesv1.UsageSigning:           x509.KeyUsageDigitalSignature,
	certificatesv1.UsageDigitalSignature:  x509.KeyUsageDigitalSignature,
	certificatesv1.UsageContentCommitment: x509.KeyUsageContentCommitment,
	certificatesv1.UsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
	certificatesv1.UsageKeyAgreement:      x509.KeyUsageKeyAgreement,
	certificatesv1.UsageDataEncipherment:  x509.KeyUsageDataEncipherment,
	certificatesv1.UsageCertSign:          x509.KeyUsageCertSign,
	certificatesv1.UsageCRLSign:           x509.KeyUsageCRLSign,
	certificatesv1.UsageEncipherOnly:      x509.KeyUsageEncipherOnly,
	certificatesv1.UsageDecipherOnly:      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[certificatesv1.KeyUsage]x509.ExtKeyUsage{
	certificatesv1.UsageAny:             x509.ExtKeyUsageAny,
	certificatesv1.UsageServerAuth:      x509.ExtKeyUsageServerAuth,
	certificatesv1.UsageClientAuth:      x509.ExtKeyUsageClientAuth,
	certificatesv1.UsageCodeSigning:     x509.ExtKeyUsageCodeSigning,
	certificatesv1.UsageEmailProtection: x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageSMIME:           x509.ExtKeyUsageEmailProtection,
	certificatesv1.UsageIPsecEndSystem:  x509.ExtKeyUsageIPSECEndSystem,
	certificatesv1.UsageIPsecTunnel:     x509.ExtKeyUsageIPSECTunnel,
	certificatesv1.UsageIPsecUser:       x509.ExtKeyUsageIPSECUser,
	certificatesv1.UsageTimestamping:    x509.ExtKeyUsageTimeStamping,
	certificatesv1.UsageOCSPSigning:     x509.ExtKeyUsageOCSPSigning,
	certificatesv1.UsageMicrosoftSGC:    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	certificatesv1.UsageNetscapeSGC:     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// x509Usage translates the API's usages into a certificate's.
func x509Usage(usages []certificatesv1.KeyUsage) (pki.Usage, error) {
	var out pki.Usage
	for _, u := range usages {
		if k, ok := keyUsages[u]; ok {
			out.Key |= k
		} else if e, ok := extKeyUsages[u]; ok {
			out.Extended = append(out.Extended, e)
		} else {
			return pki.Usage{}, fmt.Errorf("unrecognized usage %q", u)
		}
	}
	return out, nil
}
