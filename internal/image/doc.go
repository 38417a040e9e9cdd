// Package image provides the node's images: pulls from registries with
// go-containerregistry (anonymously or with credentials, through the mirrors and
// insecure registries of registries.yaml, as in k3s), imports of docker-save and OCI
// archives, a content-addressed store of blobs, and overlayfs snapshots of unpacked
// layers shared between containers.
package image
