//go:build tools

// Package helm pins Helm 4, which the e2e tests build (go build -C test/helm
// helm.sh/helm/v4/cmd/helm) to install a chart on a podium cluster. It is a module of
// its own so that Helm's dependencies stay out of podium's.
package helm

import _ "helm.sh/helm/v4/cmd/helm"
