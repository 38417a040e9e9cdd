package csrapproving

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"slices"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
	csrs "github.com/podium/podium/internal/registry/certificatesigningrequest"
)

const nodeUserPrefix = "system:node:"

// Controller approves nodes' requests.
type Controller struct {
	client kubernetes.Interface
	csrs   certlisters.CertificateSigningRequestLister
	nodes  corelisters.NodeLister
	synced []cache.InformerSynced
	loop   *reconcile.Loop
	log    *slog.Logger
}

// New returns the controller on factory's CertificateSigningRequest and Node informers,
// which the caller starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	reqs, nodes := factory.Certificates().V1().CertificateSigningRequests(), factory.Core().V1().Nodes()
	c := &Controller{client: client, csrs: reqs.Lister(), nodes: nodes.Lister(),
		synced: []cache.InformerSynced{reqs.Informer().HasSynced, nodes.Informer().HasSynced}, log: log}
	c.loop = reconcile.New("csrapproving", c.sync, log)
	if _, err := reqs.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
			return csr.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	// A serving request waits for its Node's addresses: a change of a Node looks at
	// the pending serving requests of that node again.
	if _, err := nodes.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		node, ok := obj.(*corev1.Node)
		if !ok {
			return ""
		}
		all, _ := c.csrs.List(labels.Everything())
		for _, csr := range all {
			if csr.Spec.SignerName == certificatesv1.KubeletServingSignerName && csr.Spec.Username == nodeUserPrefix+node.Name && pending(csr) {
				c.loop.Add(csr.Name)
			}
		}
		return ""
	})); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	c.loop.Run(ctx, 1)
}

func pending(csr *certificatesv1.CertificateSigningRequest) bool {
	return len(csr.Status.Certificate) == 0 && !csrs.HasCondition(csr, certificatesv1.CertificateApproved) &&
		!csrs.HasCondition(csr, certificatesv1.CertificateDenied)
}

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	csr, err := c.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !pending(csr) {
		return 0, nil
	}
	req, err := csrs.ParseRequest(csr.Spec.Request)
	if err != nil {
		return 0, nil
	}
	var message string
	switch csr.Spec.SignerName {
	case certificatesv1.KubeAPIServerClientKubeletSignerName:
		message, err = c.clientRequest(ctx, csr, req)
	case certificatesv1.KubeletServingSignerName:
		message = c.servingRequest(csr, req)
	}
	if err != nil || message == "" {
		return 0, err
	}
	next := csr.DeepCopy()
	next.Status.Conditions = append(next.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: message,
	})
	_, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, next, metav1.UpdateOptions{})
	return 0, err
}

// clientRequest returns the approval message of a node's client certificate request,
// or "" to leave it to an admin.
func (c *Controller) clientRequest(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) (string, error) {
	if csrs.ValidateKubeletClient(req, csr.Spec.Usages) != nil {
		return "", nil
	}
	if csr.Spec.Username == req.Subject.CommonName {
		ok, err := c.may(ctx, csr, "selfnodeclient")
		if ok || err != nil {
			return "Auto approving self kubelet client certificate after SubjectAccessReview.", err
		}
	}
	ok, err := c.may(ctx, csr, "nodeclient")
	if !ok || err != nil {
		return "", err
	}
	node := req.Subject.CommonName[len(nodeUserPrefix):]
	if _, err := c.nodes.Get(node); err == nil {
		c.log.Warn("a certificate request for a node that exists waits for an admin: approve it with kubectl certificate approve, if the node's new credential is right",
			"request", csr.Name, "node", node, "requester", csr.Spec.Username)
		return "", nil
	}
	return "Auto approving kubelet client certificate after SubjectAccessReview.", nil
}

// may asks the API server whether the requester may create certificatesigningrequests/sub.
func (c *Controller) may(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, sub string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Group: certificatesv1.GroupName, Version: "*", Resource: "certificatesigningrequests", Subresource: sub, Verb: "create",
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking whether %s may create certificatesigningrequests/%s: %w", csr.Spec.Username, sub, err)
	}
	return sar.Status.Allowed, nil
}

// servingRequest returns the approval message of a node's serving certificate request
// when the node asked for itself and names only its own addresses; else "".
func (c *Controller) servingRequest(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) string {
	if csrs.ValidateKubeletServing(req, csr.Spec.Usages) != nil || csr.Spec.Username != req.Subject.CommonName ||
		!slices.Contains(csr.Spec.Groups, "system:nodes") {
		return ""
	}
	node, err := c.nodes.Get(req.Subject.CommonName[len(nodeUserPrefix):])
	if err != nil {
		return "" // looked at again when the Node appears
	}
	ips, names := map[string]bool{}, map[string]bool{node.Name: true}
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			ips[a.Address] = true
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			names[a.Address] = true
		}
	}
	for _, ip := range req.IPAddresses {
		if !ips[ip.String()] {
			return ""
		}
	}
	for _, n := range req.DNSNames {
		if !names[n] {
			return ""
		}
	}
	return "Auto approving kubelet serving certificate: the node asked for its own names and addresses."
}
