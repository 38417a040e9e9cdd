package servicealloc

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/claims"
)

func svc(name string, typ corev1.ServiceType, ip string, nodePort int32) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: typ, ClusterIP: ip, Ports: []corev1.ServicePort{{Port: 80, NodePort: nodePort}}}}
	if ip != "" {
		s.Spec.ClusterIPs = []string{ip}
	}
	return s
}

func TestAllocate(t *testing.T) {
	var existing []*corev1.Service
	clk := clocktesting.NewFakePassiveClock(time.Unix(0, 0))
	a, err := New("10.43.0.0/29", func() []*corev1.Service { return existing }, clk)
	if err != nil {
		t.Fatal(err)
	}
	if a.First() != "10.43.0.1" {
		t.Fatalf("first: %s", a.First())
	}
	// A /29 has 8 addresses; network, .1 (kept for kubernetes) and broadcast are skipped: 5 free.
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		s := svc(fmt.Sprintf("s%d", i), corev1.ServiceTypeClusterIP, "", 0)
		if err := a.AdmitCreate(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if seen[s.Spec.ClusterIP] || s.Spec.ClusterIP == "10.43.0.1" || len(s.Spec.ClusterIPs) != 1 {
			t.Fatalf("allocation %d: %v (seen %v)", i, s.Spec.ClusterIPs, seen)
		}
		seen[s.Spec.ClusterIP] = true
	}
	if err := a.AdmitCreate(context.Background(), svc("full", corev1.ServiceTypeClusterIP, "", 0)); err == nil {
		t.Fatal("allocated from a full range")
	}
	// Pending reservations lapse; what the list shows stays taken.
	existing = []*corev1.Service{svc("a", corev1.ServiceTypeClusterIP, "10.43.0.2", 0)}
	clk.SetTime(clk.Now().Add(2 * pendingFor))
	for i := 0; i < 4; i++ {
		s := svc(fmt.Sprintf("t%d", i), corev1.ServiceTypeClusterIP, "", 0)
		if err := a.AdmitCreate(context.Background(), s); err != nil || s.Spec.ClusterIP == "10.43.0.2" {
			t.Fatalf("after lapse: %v %s", err, s.Spec.ClusterIP)
		}
	}
}

func TestRequestedIPsAndPorts(t *testing.T) {
	existing := []*corev1.Service{svc("a", corev1.ServiceTypeNodePort, "10.43.0.5", 30080)}
	a, _ := New(DefaultServiceCIDR, func() []*corev1.Service { return existing }, clocktesting.NewFakePassiveClock(time.Unix(0, 0)))
	for _, tc := range []struct {
		name string
		svc  *corev1.Service
		want string
	}{
		{"taken ip", svc("b", corev1.ServiceTypeClusterIP, "10.43.0.5", 0), "provided IP is already allocated"},
		{"out of range", svc("b", corev1.ServiceTypeClusterIP, "10.99.0.5", 0), "not in the valid range"},
		{"taken port", svc("b", corev1.ServiceTypeNodePort, "", 30080), "provided port is already allocated"},
		{"port out of range", svc("b", corev1.ServiceTypeNodePort, "", 80), "The range of valid ports is 30000-32767"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.AdmitCreate(context.Background(), tc.svc)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want Invalid with %q", err, tc.want)
			}
		})
	}
	np := svc("np", corev1.ServiceTypeNodePort, "", 0)
	if err := a.AdmitCreate(context.Background(), np); err != nil || np.Spec.Ports[0].NodePort < NodePortMin || np.Spec.ClusterIP == "" {
		t.Fatalf("nodeport: %v %+v", err, np.Spec)
	}
	headless := svc("h", corev1.ServiceTypeClusterIP, corev1.ClusterIPNone, 0)
	if err := a.AdmitCreate(context.Background(), headless); err != nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless: %v %s", err, headless.Spec.ClusterIP)
	}
	ext := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	if err := a.AdmitCreate(context.Background(), ext); err != nil || ext.Spec.ClusterIP != "" {
		t.Fatalf("external name: %v %s", err, ext.Spec.ClusterIP)
	}
}

func TestDeletedServiceFreesItsIP(t *testing.T) {
	var existing []*corev1.Service
	a, _ := New(DefaultServiceCIDR, func() []*corev1.Service { return existing }, clocktesting.NewFakePassiveClock(time.Unix(0, 0)))
	first := svc("kubernetes", corev1.ServiceTypeClusterIP, a.First(), 0)
	if err := a.AdmitCreate(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	existing = []*corev1.Service{first} // the service is stored and listed
	if err := a.AdmitCreate(context.Background(), svc("other", corev1.ServiceTypeClusterIP, a.First(), 0)); !apierrors.IsInvalid(err) {
		t.Fatalf("taken IP given twice: %v", err)
	}
	existing = nil // then deleted
	if err := a.AdmitCreate(context.Background(), svc("kubernetes", corev1.ServiceTypeClusterIP, a.First(), 0)); err != nil {
		t.Fatalf("IP of a deleted service: %v", err)
	}
}

// TestLowerBandLast: addresses are given from the lower band (the first 16 of a /24)
// only once the rest is taken, so that the numbered ones stay free for Services that
// ask for them (the cluster DNS's .10).
func TestLowerBandLast(t *testing.T) {
	a, err := New("10.43.0.0/24", func() []*corev1.Service { return nil }, clocktesting.NewFakePassiveClock(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	// 256 addresses: network, .1 and broadcast skipped, .2-.15 in the band.
	for i := 0; i < 256-16-1; i++ {
		s := svc(fmt.Sprintf("s%d", i), corev1.ServiceTypeClusterIP, "", 0)
		if err := a.AdmitCreate(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if ip := netip.MustParseAddr(s.Spec.ClusterIP); ip.As4()[3] < 16 {
			t.Fatalf("allocation %d took %s from the lower band", i, ip)
		}
	}
	s := svc("last", corev1.ServiceTypeClusterIP, "", 0)
	if err := a.AdmitCreate(context.Background(), s); err != nil || netip.MustParseAddr(s.Spec.ClusterIP).As4()[3] >= 16 {
		t.Fatalf("with the upper band full: %v %s", err, s.Spec.ClusterIP)
	}
}

// TestRecreateAndUpdates: a Service deleted and made again under its name gets its node
// port back at once; an ExternalName Service turned ClusterIP gets an address; an update
// cannot take another Service's node port.
func TestRecreateAndUpdates(t *testing.T) {
	var existing []*corev1.Service
	a, err := New("10.43.0.0/24", func() []*corev1.Service { return existing }, clocktesting.NewFakePassiveClock(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reuse := svc("reuse", corev1.ServiceTypeNodePort, "", 0)
	if err := a.AdmitCreate(ctx, reuse); err != nil {
		t.Fatal(err)
	}
	port := reuse.Spec.Ports[0].NodePort
	// Deleted before the list showed it: the same name may have the port again, another
	// name may not (yet).
	if err := a.AdmitCreate(ctx, svc("reuse", corev1.ServiceTypeNodePort, "", port)); err != nil {
		t.Fatalf("the same name again: %v", err)
	}
	if err := a.AdmitCreate(ctx, svc("other", corev1.ServiceTypeNodePort, "", port)); err == nil {
		t.Fatal("another name took a port just handed out")
	}

	ext := svc("ext", corev1.ServiceTypeExternalName, "", 0)
	existing = []*corev1.Service{ext}
	turned := ext.DeepCopy()
	turned.Spec.Type = corev1.ServiceTypeClusterIP
	if err := a.AdmitUpdate(ctx, turned, ext); err != nil || turned.Spec.ClusterIP == "" {
		t.Fatalf("ExternalName turned ClusterIP: %v, cluster IP %q", err, turned.Spec.ClusterIP)
	}

	holder := svc("holder", corev1.ServiceTypeNodePort, "10.43.0.20", 30100)
	thief := svc("thief", corev1.ServiceTypeNodePort, "10.43.0.21", 30101)
	existing = []*corev1.Service{holder, thief}
	grab := thief.DeepCopy()
	grab.Spec.Ports[0].NodePort = 30100
	if err := a.AdmitUpdate(ctx, grab, thief); err == nil || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("an update taking another Service's node port: %v", err)
	}
}

// memClaims is the claims of servers sharing one datastore, in memory.
type memClaims struct{ owners map[string]string }

func (m *memClaims) Take(_ context.Context, item, owner string) error {
	if o, ok := m.owners[item]; ok && o != owner {
		return claims.ErrTaken
	}
	m.owners[item] = owner
	return nil
}

// TestServersSharingClaims: two servers whose caches show nothing of each other's
// Services fill a small range without handing out one address or port twice, and one
// asked for what the other gave gets upstream's "already allocated".
func TestServersSharingClaims(t *testing.T) {
	shared := &memClaims{owners: map[string]string{}}
	clk := clocktesting.NewFakePassiveClock(time.Unix(0, 0))
	var servers []*Allocator
	for range 2 {
		a, err := New("10.43.0.0/29", func() []*corev1.Service { return nil }, clk)
		if err != nil {
			t.Fatal(err)
		}
		a.UseClaims(shared)
		servers = append(servers, a)
	}
	seen := map[string]string{}
	for i := range 5 {
		s := svc(fmt.Sprintf("s%d", i), corev1.ServiceTypeNodePort, "", 0)
		if err := servers[i%2].AdmitCreate(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"ip/" + s.Spec.ClusterIP, fmt.Sprintf("port/%d", s.Spec.Ports[0].NodePort)} {
			if prev, ok := seen[k]; ok {
				t.Fatalf("%s given to %s and %s", k, prev, s.Name)
			}
			seen[k] = s.Name
		}
	}
	taken := svc("again", corev1.ServiceTypeClusterIP, "", 0)
	for k, name := range seen {
		if ip, ok := strings.CutPrefix(k, "ip/"); ok && name == "s1" { // server 1's
			taken.Spec.ClusterIP, taken.Spec.ClusterIPs = ip, []string{ip}
			break
		}
	}
	err := servers[0].AdmitCreate(context.Background(), taken)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided IP is already allocated") {
		t.Fatalf("an address another server gave: %v", err)
	}
}
