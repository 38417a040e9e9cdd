// Package allocationrepair provides the controller that keeps the allocation claims
// (package claims) true to the objects, as upstream's repair loops keep its cluster IP
// and node port allocators: a deleted Service gives back its cluster IPs and node ports
// and a deleted Node its pod CIDR at once, and a sweep every minute removes the claims
// that no object holds any more (a create refused after its admission had claimed, an
// update that changed a node port), once they are older than a minute.
package allocationrepair
