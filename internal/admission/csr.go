package admission

import (
	"context"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/registry/certificatesigningrequest"
)

// CertificateRequests is the admission of CertificateSigningRequests, as upstream's
// plugins of the certificates group together:
//   - a new request records who asked (spec.username and spec.groups);
//   - a request to the kube-apiserver-client signer may not ask for system:masters;
//   - approving or denying needs the "approve" verb on the request's signer, and
//     issuing a certificate the "sign" verb (resource "signers" of certificates.k8s.io,
//     named by the signer name or by its domain and "*").
type CertificateRequests struct {
	validateOnly
	Authorizer auth.Authorizer
}

var resource = schema.GroupResource{Group: certificatesv1.GroupName, Resource: "certificatesigningrequests"}

// ValidateCreate fills in the requester, after every mutation as upstream's registry
// does (a mutating webhook cannot name another), and refuses system:masters client
// certificates.
func (c CertificateRequests) ValidateCreate(ctx context.Context, obj runtime.Object) error {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	if u := auth.UserFrom(ctx); u != nil {
		// All four from the request's user, whatever the client wrote.
		csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = u.Name, u.UID, slices.Clone(u.Groups), nil
		for k, v := range u.Extra {
			if csr.Spec.Extra == nil {
				csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
			}
			csr.Spec.Extra[k] = slices.Clone(v)
		}
	}
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientSignerName {
		return nil
	}
	req, err := certificatesigningrequest.ParseRequest(csr.Spec.Request)
	if err != nil {
		return nil // validation names the problem
	}
	if slices.Contains(req.Subject.Organization, auth.MastersGroup) {
		return apierrors.NewForbidden(resource, csr.Name, fmt.Errorf("use of %s signer with %s group is not allowed", csr.Spec.SignerName, auth.MastersGroup))
	}
	return nil
}

// ValidateUpdate admits every write of the main resource, which changes only metadata.
func (CertificateRequests) ValidateUpdate(context.Context, runtime.Object, runtime.Object) error {
	return nil
}

// AdmitSubresourceUpdate checks the approver's and the signer's rights.
func (c CertificateRequests) AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	u := auth.UserFrom(ctx)
	if u == nil {
		return nil // the server's own writes
	}
	switch {
	case subresource == "approval":
		if !c.maySigner(ctx, u, "approve", csr.Spec.SignerName) {
			return apierrors.NewForbidden(resource, csr.Name, fmt.Errorf("user not permitted to approve requests with signerName %q", csr.Spec.SignerName))
		}
	case subresource == "status" && string(csr.Status.Certificate) != string(prev.Status.Certificate):
		if !c.maySigner(ctx, u, "sign", csr.Spec.SignerName) {
			return apierrors.NewForbidden(resource, csr.Name, fmt.Errorf("user not permitted to sign requests with signerName %q", csr.Spec.SignerName))
		}
	}
	return nil
}

// maySigner asks whether u may verb the signer of that name, or every signer of its
// domain.
func (c CertificateRequests) maySigner(ctx context.Context, u *auth.User, verb, signer string) bool {
	domain, _, _ := strings.Cut(signer, "/")
	for _, name := range []string{signer, domain + "/*"} {
		if ok, _ := c.Authorizer.Authorize(ctx, u, auth.Attributes{Verb: verb, Group: certificatesv1.GroupName, Resource: "signers", Name: name}); ok {
			return true
		}
	}
	return false
}
