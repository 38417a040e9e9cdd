// Package image provides the node's images: pulls from registries with
// go-containerregistry (anonymously or with credentials, through the mirrors and
// insecure registries of registries.yaml, as in k3s), imports of docker-save and OCI
// archives, a content-addressed store of blobs, and overlayfs snapshots of unpacked
// layers shared between containers.
//
// Images are named as upstream names them: references are normalized ("nginx" is
// docker.io/library/nginx:latest), an image's ID is its config digest, its RepoDigests
// are name@digest of what each name resolved to (an index for multi-platform images),
// and its size is the sum of its compressed layers. Each layer is unpacked once, in
// the form overlayfs reads (whiteouts as 0/0 character devices, opaque directories
// marked with trusted.overlay.opaque=y), and shared by every image and snapshot that
// uses it. Content no image, reference or snapshot uses is deleted when an image or a
// snapshot is removed.
//
// Several processes may use one store directory at once (the agent and `podium
// image`); changes go through a lock file and an index replaced atomically. Unpacking
// and mounting need root.
package image
