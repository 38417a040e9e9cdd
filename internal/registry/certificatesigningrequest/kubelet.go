package certificatesigningrequest

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
)

// Nodes' certificates: their subjects as the node authorizer reads them.
const (
	nodeGroup      = "system:nodes"
	nodeUserPrefix = "system:node:"
)

// sameUsages reports whether have names exactly the usages of one of wants.
func sameUsages(have []certificatesv1.KeyUsage, wants ...[]certificatesv1.KeyUsage) bool {
	h := slices.Clone(have)
	slices.Sort(h)
	for _, w := range wants {
		w = slices.Clone(w)
		slices.Sort(w)
		if slices.Equal(h, w) {
			return true
		}
	}
	return false
}

var (
	clientUsages      = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageClientAuth}
	clientUsagesNoRSA = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	servingUsages     = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
	servingUsageNoRSA = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}
)

// ValidateKubeletClient checks a request to the kube-apiserver-client-kubelet signer: a
// node's client certificate, system:node:NAME in system:nodes, with no alternative
// names, for client authentication only.
func ValidateKubeletClient(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{nodeGroup}) {
		return errors.New("subject organization is not system:nodes")
	}
	switch {
	case len(req.DNSNames) > 0:
		return errors.New("DNS subjectAltNames are not allowed")
	case len(req.EmailAddresses) > 0:
		return errors.New("Email subjectAltNames are not allowed")
	case len(req.IPAddresses) > 0:
		return errors.New("IP subjectAltNames are not allowed")
	case len(req.URIs) > 0:
		return errors.New("URI subjectAltNames are not allowed")
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) {
		return errors.New("subject common name does not begin with system:node:")
	}
	if !sameUsages(usages, clientUsages, clientUsagesNoRSA) {
		return fmt.Errorf("usages did not match %v", clientUsages)
	}
	return nil
}

// ValidateKubeletServing checks a request to the kubelet-serving signer: a node's
// serving certificate, system:node:NAME in system:nodes, naming DNS names or IP
// addresses and nothing else, for server authentication only.
func ValidateKubeletServing(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{nodeGroup}) {
		return errors.New("subject organization is not system:nodes")
	}
	switch {
	case len(req.DNSNames) == 0 && len(req.IPAddresses) == 0:
		return errors.New("DNS or IP subjectAltName is required")
	case len(req.EmailAddresses) > 0:
		return errors.New("Email subjectAltNames are not allowed")
	case len(req.URIs) > 0:
		return errors.New("URI subjectAltNames are not allowed")
	}
	if !sameUsages(usages, servingUsages, servingUsageNoRSA) {
		return fmt.Errorf("usages did not match %v", servingUsages)
	}
	if !strings.HasPrefix(req.Subject.CommonName, nodeUserPrefix) {
		return errors.New("subject common name does not begin with system:node:")
	}
	return nil
}

// ValidateAPIServerClient checks the usages of a request to the kube-apiserver-client
// signer: client authentication, with digital signature and key encipherment at most.
func ValidateAPIServerClient(usages []certificatesv1.KeyUsage) error {
	client := false
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment:
		case certificatesv1.UsageClientAuth:
			client = true
		default:
			return fmt.Errorf("invalid usage for client certificate: %s", u)
		}
	}
	if !client {
		return fmt.Errorf("missing required usage for client certificate: %s", certificatesv1.UsageClientAuth)
	}
	return nil
}
