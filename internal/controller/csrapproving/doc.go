// Package csrapproving is the controller that approves nodes' certificate requests, as
// upstream's csrapproving controller does, plus one rule of podium's:
//   - a node's client certificate (signer kube-apiserver-client-kubelet) when the
//     requester may create certificatesigningrequests/nodeclient (the join token's
//     bootstrap identity may) or, renewing its own, .../selfnodeclient (every node
//     may), asked with a SubjectAccessReview. A bootstrap request for a node name that
//     a Node already has is left pending: a node's name is its identity, and only an
//     admin may hand it to a new credential (kubectl certificate approve);
//   - a node's serving certificate (signer kubelet-serving), which upstream leaves to
//     the admin, when the node itself asks and every name in it is one of its Node's
//     addresses or its own name. The API server checks agents against these.
package csrapproving
