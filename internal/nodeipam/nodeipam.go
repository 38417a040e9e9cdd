package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/claims"
)

// DefaultClusterCIDR is where pod CIDRs come from.
const DefaultClusterCIDR = "10.42.0.0/16"

// nodeBits is the size of each node's range: a /24.
const nodeBits = 24

// pendingFor is how long a handed-out range counts as taken without being seen in the
// node list: long enough for the create that asked to be stored and reach the list, short
// enough that a create that failed after admission gives its range back soon.
const pendingFor = 5 * time.Second

// Allocator hands out pod CIDRs to Nodes.
type Allocator struct {
	cluster netip.Prefix
	list    func() []*corev1.Node
	clock   clock.PassiveClock

	mu      sync.Mutex         // guards pending
	pending map[string]pending // by CIDR: handed out but maybe not listed yet

	claims Claims // where servers sharing a datastore claim ranges; nil when alone
}

// Claims arbitrates between servers: Take succeeds for one owner of an item only, and
// returns claims.ErrTaken to the others.
type Claims interface {
	Take(ctx context.Context, item, owner string) error
}

// UseClaims makes the allocator claim the ranges it hands out in c.
func (a *Allocator) UseClaims(c Claims) { a.claims = c }

// ClaimItem names the claim of a pod CIDR.
func ClaimItem(cidr string) string { return "nodes/podcidr/" + cidr }

type pending struct {
	node string
	at   time.Time
}

// New returns an allocator for cidr; list returns the existing Nodes.
func New(cidr string, list func() []*corev1.Node, clk clock.PassiveClock) (*Allocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > nodeBits {
		return nil, fmt.Errorf("cluster CIDR %q: want an IPv4 prefix of /%d or larger", cidr, nodeBits)
	}
	return &Allocator{cluster: p.Masked(), list: list, clock: clk, pending: map[string]pending{}}, nil
}

// AdmitCreate gives a new Node a pod CIDR unless it asks for one.
func (a *Allocator) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	node, ok := obj.(*corev1.Node)
	if !ok || node.Spec.PodCIDR != "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	used := map[string]bool{}
	for _, n := range a.list() {
		for _, c := range n.Spec.PodCIDRs {
			used[c] = true
		}
		if n.Spec.PodCIDR != "" {
			used[n.Spec.PodCIDR] = true
		}
		delete(a.pending, n.Spec.PodCIDR)
	}
	now := a.clock.Now()
	for c, p := range a.pending {
		if p.node == node.Name || now.Sub(p.at) > pendingFor { // a retried create of the same node, or one that failed
			delete(a.pending, c)
			continue
		}
		used[c] = true
	}
	count := 1 << (nodeBits - a.cluster.Bits())
	base := a.cluster.Addr().As4()
	for i := 0; i < count; i++ {
		b := base
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		v += uint32(i) << (32 - nodeBits)
		c := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nodeBits).String()
		if !used[c] {
			if a.claims != nil {
				switch err := a.claims.Take(ctx, ClaimItem(c), node.Name); {
				case errors.Is(err, claims.ErrTaken):
					continue // another server's Node has it
				case err != nil:
					return apierrors.NewInternalError(err)
				}
			}
			node.Spec.PodCIDR, node.Spec.PodCIDRs = c, []string{c}
			a.pending[c] = pending{node: node.Name, at: now}
			return nil
		}
	}
	return apierrors.NewServiceUnavailable(fmt.Sprintf("no free pod CIDR left in %s", a.cluster))
}

// AdmitUpdate changes nothing: a Node keeps its pod CIDR.
func (a *Allocator) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }
