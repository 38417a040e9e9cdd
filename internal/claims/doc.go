// Package claims makes allocation exact across API servers. Each server picks a free
// cluster IP, node port or pod CIDR from what its cache shows, and then claims it in
// etcd with a transaction that only one server can win: the claim is a key under
// /podium/claims/ naming its owner (a Service's namespace/name, a Node's name). A
// server that loses picks again. Claims are given back when their owner is deleted,
// and a sweep removes those that no owner holds any more (a create refused after its
// admission), as upstream's repair loops do for its allocators.
package claims
