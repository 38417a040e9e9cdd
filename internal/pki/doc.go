// Package pki provides the cluster's credentials: a CA and the API server's serving
// certificate signed by it, the admin bearer token and the node join token. They are
// made on the first start, kept in the data directory (secrets with mode 0600), and
// reused afterwards.
package pki
