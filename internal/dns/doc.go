// Package dns provides podium's cluster DNS server: it answers the names of the
// Kubernetes DNS-based service discovery specification (schema 1.1.0) from informer
// caches, and forwards every other name to upstream resolvers, as CoreDNS's kubernetes
// plugin (with "pods insecure") and forward and cache plugins do.
//
// Names under the cluster domain ZONE (cluster.local unless configured):
//
//   - SVC.NS.svc.ZONE: A/AAAA of a Service's ClusterIPs; of a headless Service, the
//     addresses of its ready endpoints (EndpointSlices labelled
//     kubernetes.io/service-name=SVC, conditions.ready nil or true), NXDOMAIN when it
//     has none; of an ExternalName Service, a CNAME to spec.externalName for every
//     query type, followed by the target's records (resolved locally inside the zone,
//     upstream outside it; the CNAME alone when upstream fails).
//   - _PORT._PROTO.SVC.NS.svc.ZONE: SRV for a port of that name and protocol (the
//     underscores are optional; SVC.NS.svc.ZONE SRV lists every port). A ClusterIP
//     Service's records point at SVC.NS.svc.ZONE, a headless one's at
//     HOSTNAME.SVC.NS.svc.ZONE of each ready endpoint; the targets' addresses are in
//     the additional section.
//   - HOSTNAME.SVC.NS.svc.ZONE: the addresses of the ready endpoints whose hostname
//     is HOSTNAME: endpoint.hostname, or else the address with dots (or colons)
//     replaced by dashes.
//   - A-B-C-D.NS.pod.ZONE (and dashed IPv6): that address, for any well-formed
//     address in an existing namespace, without checking that a pod has it.
//   - dns-version.ZONE: TXT "1.1.0".
//   - the apex: SOA; NS.svc.ZONE of an existing namespace, svc.ZONE and pod.ZONE
//     exist without records.
//
// A name that exists answers NOERROR, with no records (NODATA) when it has none of
// the asked type; one that does not answers NXDOMAIN. Both negative answers carry
// the zone's SOA (ns.dns.ZONE. hostmaster.ZONE. SERIAL 7200 1800 86400 5), whose
// serial is the Unix time of the last change seen. Until the informers have synced,
// a name that would be NXDOMAIN answers SERVFAIL. Records have a TTL of 5 seconds
// (dns-version 28800). Owner names keep the case of the question; names are
// compared without case.
//
// Reverse names (in-addr.arpa, ip6.arpa) of a Service's ClusterIP answer PTR
// SVC.NS.svc.ZONE; those of a ready endpoint's address answer
// HOSTNAME.SVC.NS.svc.ZONE. Other reverse names are forwarded.
//
// Forwarding: queries go to each upstream in turn (UDP, then TCP when the answer is
// truncated) until one answers other than SERVFAIL or REFUSED; when none does, the
// client gets SERVFAIL. Identical queries in flight are sent upstream once. Answers
// are cached (at most 10,000, a random one evicted when full): positive ones for
// their smallest TTL (at most an hour), NXDOMAIN and NODATA for the SOA minimum (at
// most 30 seconds).
//
// Bounds on clients: UDP messages are read up to 1232 bytes; UDP answers are cut to
// the client's EDNS0 buffer size (512 bytes without EDNS0, at most 1232) and then
// carry the TC bit; TCP connections are capped (further clients wait in the listen
// backlog) and closed after 2 seconds without a whole first query, 8 idle seconds,
// 128 queries, or an answer not written within 2 seconds; at most 1024 forwarded
// queries wait for upstreams at once, beyond which clients get SERVFAIL; malformed
// messages are answered FORMERR or dropped, as miekg/dns's server does.
package dns
