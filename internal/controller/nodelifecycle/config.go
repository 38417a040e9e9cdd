package nodelifecycle

import (
	"time"

	"k8s.io/utils/clock"
)

// Defaults, upstream's.
const (
	DefaultMonitorPeriod          = 5 * time.Second
	DefaultGracePeriod            = 40 * time.Second
	DefaultStartupGracePeriod     = 60 * time.Second
	DefaultEvictionRate           = 0.1
	DefaultSecondaryEvictionRate  = 0.01
	DefaultLargeClusterThreshold  = 50
	DefaultUnhealthyZoneThreshold = 0.55
)

// Config tunes the controller; zero fields take the defaults.
type Config struct {
	// MonitorPeriod is how often every node's health is checked.
	MonitorPeriod time.Duration
	// GracePeriod is how long a node may go without renewing its Lease or posting a new
	// Ready heartbeat before its conditions turn Unknown.
	GracePeriod time.Duration
	// StartupGracePeriod replaces GracePeriod for a node that never posted a Ready
	// condition.
	StartupGracePeriod time.Duration
	// EvictionRate is how many nodes a second of a healthy zone get a NoExecute taint.
	EvictionRate float32
	// SecondaryEvictionRate replaces EvictionRate in a zone where at least
	// UnhealthyZoneThreshold of the nodes (and more than two) are not ready, when the
	// zone has more than LargeClusterThreshold nodes; smaller such zones get none.
	SecondaryEvictionRate  float32
	LargeClusterThreshold  int
	UnhealthyZoneThreshold float32
	// Clock drives the monitor period, heartbeat ages and toleration periods.
	Clock clock.WithTicker
}

func (c Config) withDefaults() Config {
	if c.MonitorPeriod <= 0 {
		c.MonitorPeriod = DefaultMonitorPeriod
	}
	if c.GracePeriod <= 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.StartupGracePeriod <= 0 {
		c.StartupGracePeriod = DefaultStartupGracePeriod
	}
	if c.EvictionRate <= 0 {
		c.EvictionRate = DefaultEvictionRate
	}
	if c.SecondaryEvictionRate <= 0 {
		c.SecondaryEvictionRate = DefaultSecondaryEvictionRate
	}
	if c.LargeClusterThreshold <= 0 {
		c.LargeClusterThreshold = DefaultLargeClusterThreshold
	}
	if c.UnhealthyZoneThreshold <= 0 {
		c.UnhealthyZoneThreshold = DefaultUnhealthyZoneThreshold
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return c
}
