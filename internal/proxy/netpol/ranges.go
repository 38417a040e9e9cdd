package netpol

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
)

// ipRange is the IPv4 addresses from first to last, both included.
type ipRange struct{ first, last uint32 }

func addrOf(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func addrString(u uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b).String()
}

// prefixRange returns the addresses of p, which must be IPv4.
func prefixRange(p netip.Prefix) ipRange {
	first := addrOf(p.Masked().Addr())
	host := uint32(0)
	if p.Bits() < 32 {
		host = ^uint32(0) >> p.Bits()
	}
	return ipRange{first, first | host}
}

func single(a netip.Addr) ipRange { u := addrOf(a); return ipRange{u, u} }

func (r ipRange) contains(u uint32) bool { return r.first <= u && u <= r.last }

// subtract returns rs without the addresses of x.
func subtract(rs []ipRange, x ipRange) []ipRange {
	var out []ipRange
	for _, r := range rs {
		if x.last < r.first || x.first > r.last {
			out = append(out, r)
			continue
		}
		if x.first > r.first {
			out = append(out, ipRange{r.first, x.first - 1})
		}
		if x.last < r.last {
			out = append(out, ipRange{x.last + 1, r.last})
		}
	}
	return out
}

// merge returns the addresses of rs as sorted, disjoint ranges: the form an nftables
// interval set takes without complaint about overlaps. Adjacent ranges stay apart, so
// that pods' addresses stay elements of their own.
func merge(rs []ipRange) []ipRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b ipRange) int { return cmp.Compare(a.first, b.first) })
	var out []ipRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.first <= out[n-1].last {
			out[n-1].last = max(out[n-1].last, r.last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// String is the range as an nftables set element: an address, a prefix when the range
// is exactly one, or first-last.
func (r ipRange) String() string {
	if r.first == r.last {
		return addrString(r.first)
	}
	size := uint64(r.last) - uint64(r.first) + 1
	if size&(size-1) == 0 && uint64(r.first)%size == 0 {
		return addrString(r.first) + "/" + strconv.Itoa(32-bits.TrailingZeros64(size))
	}
	return addrString(r.first) + "-" + addrString(r.last)
}
