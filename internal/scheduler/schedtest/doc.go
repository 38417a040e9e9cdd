// Package schedtest provides builders of pods, nodes and NodeInfos for the scheduler's
// tests.
package schedtest
