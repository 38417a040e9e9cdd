package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// newRequest makes a key and a certificate request for subject, in PEM.
func newRequest(t *testing.T, subject pkix.Name) (csrPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func nodeClientRequest(name string, csrPEM []byte) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: csrPEM, SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}}}
}

// issued waits for a request's certificate.
func issued(t *testing.T, cs kubernetes.Interface, name string) []byte {
	t.Helper()
	var cert []byte
	waitFor(t, one(cs, "certificatesigningrequests", "", name), name+" issued", func(csr *certificatesv1.CertificateSigningRequest, ok bool) bool {
		if ok {
			cert = csr.Status.Certificate
		}
		return len(cert) > 0
	})
	return cert
}

// TestNodeBootstrap shows what the join token is: the right to ask for a new node's
// client certificate, and nothing else. The request is approved and signed at once for
// a new node name, waits for the admin for a name that is taken, and the node renews
// its certificate with its own.
func TestNodeBootstrap(t *testing.T) {
	c := startCluster(t)
	admin := c.client()
	join, err := kubernetes.NewForConfig(c.joinClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Nothing but certificate requests.
	if _, err := join.CoreV1().Pods("default").List(bg, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the join token lists pods: %v", err)
	}
	if _, err := join.CoreV1().Nodes().Create(bg, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the join token creates a node: %v", err)
	}
	if _, err := join.CoreV1().Secrets("kube-system").Get(bg, "x", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the join token reads a secret: %v", err)
	}

	// A new node's request: approved and issued; the certificate is the node.
	reqPEM, keyPEM := newRequest(t, pkix.Name{CommonName: "system:node:fresh", Organization: []string{"system:nodes"}})
	csr, err := join.CertificatesV1().CertificateSigningRequests().Create(bg, nodeClientRequest("fresh", reqPEM), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csr.Spec.Username, "system:bootstrap:") || !strings.Contains(strings.Join(csr.Spec.Groups, ","), "system:bootstrappers") {
		t.Errorf("requester: %q %v", csr.Spec.Username, csr.Spec.Groups)
	}
	certPEM := issued(t, admin, csr.Name)
	nodeCfg := rest.AnonymousClientConfig(c.restConfig())
	nodeCfg.CertData, nodeCfg.KeyData = certPEM, keyPEM
	fresh, err := kubernetes.NewForConfig(nodeCfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.CoreV1().Nodes().Create(bg, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the new node registers with its certificate: %v", err)
	}
	if _, err := fresh.CoreV1().Nodes().Create(bg, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the new node registers another: %v", err)
	}
	out := c.mustKubectl("get", "csr", csr.Name)
	if !strings.Contains(out, "kubernetes.io/kube-apiserver-client-kubelet") || !strings.Contains(out, "Approved,Issued") || !strings.Contains(out, "system:bootstrap:") {
		t.Errorf("kubectl get csr:\n%s", out)
	}

	// The node renews with its own certificate (selfnodeclient).
	renewPEM, _ := newRequest(t, pkix.Name{CommonName: "system:node:fresh", Organization: []string{"system:nodes"}})
	renewal, err := fresh.CertificatesV1().CertificateSigningRequests().Create(bg, nodeClientRequest("fresh", renewPEM), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issued(t, admin, renewal.Name)
	// But it may not ask for another node's.
	otherPEM, _ := newRequest(t, pkix.Name{CommonName: "system:node:someone", Organization: []string{"system:nodes"}})
	other, err := fresh.CertificatesV1().CertificateSigningRequests().Create(bg, nodeClientRequest("someone", otherPEM), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// A name that is taken: the join token's request waits for the admin.
	takenPEM, _ := newRequest(t, pkix.Name{CommonName: "system:node:fresh", Organization: []string{"system:nodes"}})
	taken, err := join.CertificatesV1().CertificateSigningRequests().Create(bg, nodeClientRequest("fresh", takenPEM), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The approver looks at requests in the order they come: once a later one is
	// approved, these two have been looked at and left alone.
	laterPEM, _ := newRequest(t, pkix.Name{CommonName: "system:node:later", Organization: []string{"system:nodes"}})
	later, err := join.CertificatesV1().CertificateSigningRequests().Create(bg, nodeClientRequest("later", laterPEM), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issued(t, admin, later.Name)
	for _, name := range []string{taken.Name, other.Name} {
		got, err := admin.CertificatesV1().CertificateSigningRequests().Get(bg, name, metav1.GetOptions{})
		if err != nil || len(got.Status.Conditions) != 0 {
			t.Errorf("request %s: %v %+v, want pending", name, err, got.Status)
		}
	}
	if out := c.mustKubectl("get", "csr", taken.Name); !strings.Contains(out, "Pending") {
		t.Errorf("kubectl get csr of a taken name:\n%s", out)
	}
	// The join token may not approve its own request; the admin may.
	if _, err := join.CertificatesV1().CertificateSigningRequests().UpdateApproval(bg, taken.Name, approved(taken), metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("the join token approves: %v", err)
	}
	c.mustKubectl("certificate", "approve", taken.Name)
	issued(t, admin, taken.Name)
	c.mustKubectl("certificate", "deny", other.Name)
	if out := c.mustKubectl("get", "csr", other.Name); !strings.Contains(out, "Denied") {
		t.Errorf("kubectl get csr of a denied request:\n%s", out)
	}
}

func approved(csr *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
	csr = csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"})
	return csr
}

// TestUserCertificateRequest: a user's key, a request to the kube-apiserver-client
// signer, kubectl certificate approve, and the certificate works as that user. A
// request in the name of system:masters is refused.
func TestUserCertificateRequest(t *testing.T) {
	c := startCluster(t)
	reqPEM, keyPEM := newRequest(t, pkix.Name{CommonName: "dana", Organization: []string{"testers"}})
	manifest := `apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: dana}
spec:
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400
  usages: [client auth]
  request: ` + base64.StdEncoding.EncodeToString(reqPEM) + "\n"
	if _, errOut, err := c.kubectlIn(manifest, "create", "-f", "-"); err != nil {
		t.Fatalf("create csr: %v %s", err, errOut)
	}
	if out := c.mustKubectl("get", "csr", "dana"); !strings.Contains(out, "Pending") || !strings.Contains(out, "24h") {
		t.Errorf("kubectl get csr dana:\n%s", out)
	}
	c.mustKubectl("certificate", "approve", "dana")
	certPEM := issued(t, c.client(), "dana")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: c.restConfig().Host, CertificateAuthorityData: c.restConfig().CAData}
	cfg.AuthInfos["dana"] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "dana"}
	cfg.CurrentContext = "c"
	kc := filepath.Join(t.TempDir(), "dana.yaml")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := c.kubectl("--kubeconfig", kc, "auth", "whoami"); err != nil || !strings.Contains(out, "dana") || !strings.Contains(out, "testers") {
		t.Fatalf("whoami as dana: %v %s %s", err, out, errOut)
	}
	if _, errOut, err := c.kubectl("--kubeconfig", kc, "get", "pods"); err == nil || !strings.Contains(errOut, `User "dana" cannot list resource "pods"`) {
		t.Fatalf("dana lists pods: %v %s", err, errOut)
	}
	_ = os.Remove(kc)

	mastersPEM, _ := newRequest(t, pkix.Name{CommonName: "mallory", Organization: []string{"system:masters"}})
	_, err := c.client().CertificatesV1().CertificateSigningRequests().Create(bg, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "mallory"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: mastersPEM, SignerName: certificatesv1.KubeAPIServerClientSignerName,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "system:masters group is not allowed") {
		t.Fatalf("a request for system:masters: %v", err)
	}
	// Bad input: a request that is not one, and a usage that does not exist.
	bad := strings.Replace(manifest, "name: dana", "name: bad", 1)
	bad = strings.Replace(bad, "[client auth]", "[client auth, flying]", 1)
	if _, errOut, err := c.kubectlIn(bad, "create", "-f", "-"); err == nil || !strings.Contains(errOut, `spec.usages[1]: Unsupported value: "flying"`) {
		t.Fatalf("a request with an unknown usage: %v %s", err, errOut)
	}
}
