package servicealloc

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/claims"
)

// Defaults as k3s sets them.
const (
	DefaultServiceCIDR = "10.43.0.0/16"
	NodePortMin        = 30000
	NodePortMax        = 32767
)

// pendingFor is how long a handed-out address counts as taken without being seen in the
// service list: long enough for the create that asked to be stored and reach the list,
// short enough that a Service deleted right after it frees its address soon.
const pendingFor = 5 * time.Second

// Allocator hands out cluster IPs and node ports.
type Allocator struct {
	prefix netip.Prefix
	list   func() []*corev1.Service
	clock  clock.PassiveClock

	mu      sync.Mutex // guards pending
	pending map[string]pending

	// claims, when set, is where servers sharing a datastore claim what they hand out,
	// so that two of them never give one address or port to two Services.
	claims Claims
}

// Claims arbitrates between servers: Take succeeds for one owner of an item only, and
// returns claims.ErrTaken to the others.
type Claims interface {
	Take(ctx context.Context, item, owner string) error
}

// UseClaims makes the allocator claim what it hands out in c.
func (a *Allocator) UseClaims(c Claims) { a.claims = c }

// ClaimItem names the claim of a key of taken ("ip/ADDRESS", "port/N").
func ClaimItem(key string) string { return "services/" + key }

// claim takes key for owner in the shared claims; false means another server's
// Service has it.
func (a *Allocator) claim(ctx context.Context, key, owner string) (bool, error) {
	if a.claims == nil {
		return true, nil
	}
	switch err := a.claims.Take(ctx, ClaimItem(key), owner); {
	case err == nil:
		return true, nil
	case errors.Is(err, claims.ErrTaken):
		return false, nil
	default:
		return false, apierrors.NewInternalError(err)
	}
}

// claimTries bounds how often a pick lost to another server is made again.
const claimTries = 16

// pending is an address or port handed out to the Service owner (namespace/name), when.
type pending struct {
	owner string
	at    time.Time
}

// New returns an allocator for the service CIDR; list returns the existing Services.
func New(cidr string, list func() []*corev1.Service, clk clock.PassiveClock) (*Allocator, error) {
	p, err := parseRange(cidr)
	if err != nil {
		return nil, err
	}
	return &Allocator{prefix: p, list: list, clock: clk, pending: map[string]pending{}}, nil
}

func parseRange(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("service CIDR %q: want an IPv4 prefix of /30 or larger", cidr)
	}
	return p.Masked(), nil
}

// NthIP returns the nth address of cidr (the network address is the zeroth), as the
// cluster DNS takes the tenth.
func NthIP(cidr string, n int) (string, error) {
	p, err := parseRange(cidr)
	if err != nil {
		return "", err
	}
	a := p.Addr()
	for range n {
		a = a.Next()
	}
	if !p.Contains(a) {
		return "", fmt.Errorf("%s has no address number %d", cidr, n)
	}
	return a.String(), nil
}

// FirstIP returns the first usable address of a service CIDR, the kubernetes Service's.
func FirstIP(cidr string) (string, error) {
	p, err := parseRange(cidr)
	if err != nil {
		return "", err
	}
	return p.Addr().Next().String(), nil
}

// First returns the first usable address of the range, the kubernetes Service's.
func (a *Allocator) First() string { return a.prefix.Addr().Next().String() }

// taken returns the cluster IPs and node ports in use by Services other than svc: what
// they hold, and what was handed out recently but is not in the list yet. A pending
// entry ends once the list shows it (so a later delete frees it) or after pendingFor;
// one handed to svc's name does not count against it (an earlier Service of that name,
// deleted since, had it). update says svc is stored already: its own entry is skipped.
func (a *Allocator) taken(svc *corev1.Service, update bool) map[string]bool {
	used := map[string]bool{}
	self := svc.Namespace + "/" + svc.Name
	for _, svc := range a.list() {
		if update && svc.Namespace+"/"+svc.Name == self {
			continue
		}
		for _, ip := range svc.Spec.ClusterIPs {
			used["ip/"+ip] = true
		}
		if svc.Spec.ClusterIP != "" {
			used["ip/"+svc.Spec.ClusterIP] = true
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				used[fmt.Sprintf("port/%d", p.NodePort)] = true
			}
		}
		if svc.Spec.HealthCheckNodePort != 0 {
			used[fmt.Sprintf("port/%d", svc.Spec.HealthCheckNodePort)] = true
		}
	}
	now := a.clock.Now()
	for k, p := range a.pending {
		if used[k] || now.Sub(p.at) > pendingFor {
			delete(a.pending, k)
			continue
		}
		if p.owner != self {
			used[k] = true
		}
	}
	return used
}

// AdmitCreate gives a new Service what it lacks and checks what it asks for.
func (a *Allocator) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.assign(ctx, svc, nil)
}

// AdmitUpdate allocates what an update newly needs (an ExternalName Service turned
// ClusterIP, a ClusterIP one turned NodePort), and checks what it newly asks for.
func (a *Allocator) AdmitUpdate(ctx context.Context, obj, oldObj runtime.Object) error {
	svc, ok := obj.(*corev1.Service)
	old, ok2 := oldObj.(*corev1.Service)
	if !ok || !ok2 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.assign(ctx, svc, old)
}

// assign gives svc the cluster IP and node ports it lacks and checks those it asks for;
// old is the stored Service on an update, nil on a create.
func (a *Allocator) assign(ctx context.Context, svc, old *corev1.Service) error {
	used := a.taken(svc, old != nil)
	owner := svc.Namespace + "/" + svc.Name
	var errs field.ErrorList
	spec := &svc.Spec
	if spec.Type != corev1.ServiceTypeExternalName {
		switch ip := spec.ClusterIP; ip {
		case corev1.ClusterIPNone:
		case "":
			if old != nil && old.Spec.ClusterIP != "" {
				break // an update keeps what it had; the strategy carries it over
			}
			free, err := a.pickClaimed(ctx, used, owner, "ip/", a.freeIP)
			if err != nil {
				return err
			}
			spec.ClusterIP, spec.ClusterIPs = free, []string{free}
			a.pending["ip/"+free] = pending{owner, a.clock.Now()}
		default:
			addr, err := netip.ParseAddr(ip)
			if err != nil {
				break // validation reports it
			}
			path := field.NewPath("spec", "clusterIPs").Index(0)
			switch {
			case !a.prefix.Contains(addr):
				errs = append(errs, field.Invalid(path, ip, fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, a.prefix)))
			case used["ip/"+ip] && (old == nil || old.Spec.ClusterIP != ip):
				errs = append(errs, field.Invalid(path, ip, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip)))
			default:
				if ok, err := a.claim(ctx, "ip/"+ip, owner); err != nil {
					return err
				} else if !ok {
					errs = append(errs, field.Invalid(path, ip, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip)))
					break
				}
				a.pending["ip/"+ip] = pending{owner, a.clock.Now()}
			}
		}
	}
	if spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer {
		for i := range spec.Ports {
			p := &spec.Ports[i]
			key := fmt.Sprintf("port/%d", p.NodePort)
			switch {
			case p.NodePort == 0:
				n, err := a.pickClaimed(ctx, used, owner, "port/", freePortString)
				if err != nil {
					return err
				}
				port, _ := strconv.Atoi(n)
				p.NodePort = int32(port)
				key = "port/" + n
			case p.NodePort < NodePortMin || p.NodePort > NodePortMax:
				errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort,
					fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)))
				continue
			case used[key] && !ownsPort(old, p.NodePort):
				errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated"))
				continue
			default:
				if ok, err := a.claim(ctx, key, owner); err != nil {
					return err
				} else if !ok {
					errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated"))
					continue
				}
			}
			used[key] = true
			a.pending[key] = pending{owner, a.clock.Now()}
		}
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		// The port a load balancer asks each node whether it has local endpoints.
		switch hc := spec.HealthCheckNodePort; {
		case hc == 0 && old != nil && old.Spec.HealthCheckNodePort != 0:
			spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
		case hc == 0:
			n, err := a.pickClaimed(ctx, used, owner, "port/", freePortString)
			if err != nil {
				return err
			}
			port, _ := strconv.Atoi(n)
			spec.HealthCheckNodePort = int32(port)
			a.pending["port/"+n] = pending{owner, a.clock.Now()}
		case used[fmt.Sprintf("port/%d", hc)] && (old == nil || old.Spec.HealthCheckNodePort != hc):
			errs = append(errs, field.Invalid(field.NewPath("spec", "healthCheckNodePort"), hc, "provided port is already allocated"))
		default:
			key := fmt.Sprintf("port/%d", hc)
			if ok, err := a.claim(ctx, key, owner); err != nil {
				return err
			} else if !ok {
				errs = append(errs, field.Invalid(field.NewPath("spec", "healthCheckNodePort"), hc, "provided port is already allocated"))
				break
			}
			a.pending[key] = pending{owner, a.clock.Now()}
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
	}
	return nil
}

func ownsPort(self *corev1.Service, port int32) bool {
	if self == nil {
		return false
	}
	for _, p := range self.Spec.Ports {
		if p.NodePort == port {
			return true
		}
	}
	return false
}

// freeIP picks a free address at random, skipping the network address, the first
// address (kept for the kubernetes Service unless asked for by name) and broadcast. As
// upstream's allocator, it takes from the range's lower band (the first size/16
// addresses, at least 16 and at most 256) only when the rest is full: that band is for
// addresses asked for by number, such as the cluster DNS's tenth address.
func (a *Allocator) freeIP(used map[string]bool) (string, error) {
	size := new(big.Int).Lsh(big.NewInt(1), uint(32-a.prefix.Bits())).Int64()
	base := a.prefix.Addr().As4()
	start := int64(base[0])<<24 | int64(base[1])<<16 | int64(base[2])<<8 | int64(base[3])
	band := min(max(16, size/16), 256)
	if band >= size-2 {
		band = 2 // a range too small for a band
	}
	pick := func(from, to int64) (string, bool) {
		if to <= from {
			return "", false
		}
		offset := rand.Int64N(to - from)
		for i := int64(0); i < to-from; i++ {
			v := start + from + (offset+i)%(to-from)
			ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
			if !used["ip/"+ip] {
				return ip, true
			}
		}
		return "", false
	}
	if ip, ok := pick(band, size-1); ok {
		return ip, nil
	}
	if ip, ok := pick(2, band); ok {
		return ip, nil
	}
	return "", fmt.Errorf("no free cluster IP in %s", a.prefix)
}

// pickClaimed picks a free value with free and claims it, picking again while other
// servers hold what it picks. kind prefixes the value in used ("ip/", "port/").
func (a *Allocator) pickClaimed(ctx context.Context, used map[string]bool, owner, kind string, free func(map[string]bool) (string, error)) (string, error) {
	for range claimTries {
		v, err := free(used)
		if err != nil {
			return "", apierrors.NewInternalError(err)
		}
		ok, err := a.claim(ctx, kind+v, owner)
		if err != nil {
			return "", err
		}
		if ok {
			return v, nil
		}
		used[kind+v] = true // another server's: pick again
	}
	return "", apierrors.NewServiceUnavailable("every pick was claimed by another server meanwhile; try again")
}

func freePortString(used map[string]bool) (string, error) {
	p, err := freePort(used)
	return strconv.Itoa(int(p)), err
}

func freePort(used map[string]bool) (int32, error) {
	span := int32(NodePortMax - NodePortMin + 1)
	offset := rand.Int32N(span)
	for i := int32(0); i < span; i++ {
		p := NodePortMin + (offset+i)%span
		if !used[fmt.Sprintf("port/%d", p)] {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free node port in %d-%d", NodePortMin, NodePortMax)
}
