package certificatesigningrequest

import (
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy             = (*strategy)(nil)
	_ registry.SubresourceWriter    = (*strategy)(nil)
	_ registry.StatusMetadataWriter = (*strategy)(nil)
)

type strategy struct {
	now func() time.Time
}

// New returns the CertificateSigningRequest strategy.
func New() registry.Strategy { return &strategy{now: time.Now} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        certificatesv1.GroupName,
		Version:      "v1",
		Kind:         "CertificateSigningRequest",
		ListKind:     "CertificateSigningRequestList",
		Resource:     "certificatesigningrequests",
		Singular:     "certificatesigningrequest",
		ShortNames:   []string{"csr"},
		Subresources: []string{"approval", "status"},
	}
}

func (*strategy) New() runtime.Object     { return &certificatesv1.CertificateSigningRequest{} }
func (*strategy) NewList() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} }

// ValidateName accepts any name, as upstream does for requests: they are named by
// their clients, often after the subject they ask for.
func (*strategy) ValidateName(name string, prefix bool) []string { return nil }

// PrepareForCreate clears who asked (an admission fills it in from the request's user)
// and the status.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	csr.Status = certificatesv1.CertificateSigningRequestStatus{}
}

// PrepareForUpdate keeps spec and status: the main resource changes only metadata.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec, csr.Status = prev.Spec, prev.Status
}

// PrepareForStatusUpdate keeps the spec and the Approved and Denied conditions as they
// were (they are the approval subresource's), and stamps the conditions' times.
func (s *strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec = prev.Spec
	keepConditions(csr, prev, certificatesv1.CertificateApproved)
	keepConditions(csr, prev, certificatesv1.CertificateDenied)
	s.stamp(csr, prev)
}

// PrepareForSubresourceUpdate takes only the conditions from a write through approval.
func (s *strategy) PrepareForSubresourceUpdate(_ string, obj, old runtime.Object) {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	s.stamp(csr, prev)
	conditions := csr.Status.Conditions
	csr.Spec, csr.Status = prev.Spec, *prev.Status.DeepCopy()
	csr.Status.Conditions = conditions
}

// keepConditions puts old's conditions of type t back in place of csr's, when both have
// as many of them: a status writer may not change them, only the approval subresource.
// (With a different count, validation refuses the write.)
func keepConditions(csr, old *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) {
	was, is := indices(old, t), indices(csr, t)
	if len(was) != len(is) {
		return
	}
	for i, j := range was {
		csr.Status.Conditions[is[i]] = old.Status.Conditions[j]
	}
}

func indices(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []int {
	var out []int
	for i, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, i)
		}
	}
	return out
}

// stamp fills the conditions' times a writer left out: the update time is now, the
// transition time that of the same condition before, if it was there with the same
// status, else now.
func (s *strategy) stamp(csr, old *certificatesv1.CertificateSigningRequest) {
	now := metav1.NewTime(s.now())
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, o := range old.Status.Conditions {
			if o.Type == c.Type && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
				c.LastTransitionTime = o.LastTransitionTime
				break
			}
		}
	}
}

// StatusWritesMetadata: a write through status may change labels and annotations too,
// as upstream's status strategy for requests keeps only the spec.
func (*strategy) StatusWritesMetadata() {}

func (*strategy) Default(obj runtime.Object) {}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validate(obj.(*certificatesv1.CertificateSigningRequest), nil, options{})
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), options{})
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), options{setCertificate: true})
}

func (*strategy) ValidateSubresourceUpdate(_ string, obj, old runtime.Object) field.ErrorList {
	return validateUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), options{setApproval: true})
}

// Fields adds spec.signerName to the metadata fields, as upstream.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, false)
	set["spec.signerName"] = obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	doc := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		registry.AgeColumn(),
		{Name: "SignerName", Type: "string", Description: doc["signerName"]},
		{Name: "Requestor", Type: "string", Description: doc["username"]},
		{Name: "RequestedDuration", Type: "string", Description: doc["expirationSeconds"]},
		{Name: "Condition", Type: "string", Description: certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]},
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	signer, requested := "<none>", "<none>"
	if csr.Spec.SignerName != "" {
		signer = csr.Spec.SignerName
	}
	if s := csr.Spec.ExpirationSeconds; s != nil {
		requested = duration.HumanDuration(time.Duration(*s) * time.Second)
	}
	return []interface{}{csr.Name, registry.Since(csr.CreationTimestamp.Time, now), signer, csr.Spec.Username, requested, Condition(csr)}
}

// Condition sums up a request's state as kubectl shows it: Approved, Denied or Pending,
// then Failed and Issued when they apply ("Approved,Issued").
func Condition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	parts := []string{"Pending"}
	switch {
	case denied:
		parts[0] = "Denied"
	case approved:
		parts[0] = "Approved"
	}
	if failed {
		parts = append(parts, "Failed")
	}
	if len(csr.Status.Certificate) > 0 {
		parts = append(parts, "Issued")
	}
	return strings.Join(parts, ",")
}

// HasCondition reports whether csr has a condition of type t with status True.
func HasCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
