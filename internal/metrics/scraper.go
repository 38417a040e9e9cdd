package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Defaults of ScraperConfig, metrics-server's.
const (
	DefaultResolution = 15 * time.Second
	DefaultTimeout    = 10 * time.Second
)

// maxScrape bounds what one node's answer may hold.
const maxScrape = 32 << 20

// ScraperConfig is what a Scraper is built from.
type ScraperConfig struct {
	// Nodes lists the nodes; the Ready ones are scraped. Required.
	Nodes func() []*corev1.Node
	// Fetch GETs /metrics/resource from node's agent and returns the body, which the
	// caller closes. Required.
	Fetch func(ctx context.Context, node string) (io.ReadCloser, error)
	// Store takes each round's readings. Required.
	Store *Store
	// Resolution is how often the nodes are scraped (DefaultResolution when 0);
	// Timeout bounds one node's scrape (DefaultTimeout when 0).
	Resolution, Timeout time.Duration
	Clock               clock.WithTicker
	Logger              *slog.Logger
}

// Scraper reads every Ready node's resource metrics into a Store.
type Scraper struct {
	cfg ScraperConfig
}

// NewScraper returns a Scraper of cfg.
func NewScraper(cfg ScraperConfig) *Scraper {
	if cfg.Resolution == 0 {
		cfg.Resolution = DefaultResolution
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Scraper{cfg: cfg}
}

// Run scrapes now and then every resolution until ctx ends.
func (s *Scraper) Run(ctx context.Context) {
	t := s.cfg.Clock.NewTicker(s.cfg.Resolution)
	defer t.Stop()
	for {
		s.Scrape(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// Scrape reads every Ready node at once and stores what they said. A node that does not
// answer is left out of this round, and so are its pods.
func (s *Scraper) Scrape(ctx context.Context) {
	var (
		mu    sync.Mutex // guards batch
		batch = Batch{Nodes: map[string]Point{}, Pods: map[types.NamespacedName]map[string]Point{}}
		wg    sync.WaitGroup
	)
	for _, n := range s.cfg.Nodes() {
		if !ready(n) {
			continue
		}
		wg.Go(func() {
			sc, err := s.scrapeNode(ctx, n.Name)
			if err != nil {
				s.cfg.Logger.Debug("scraping a node's resource metrics", "node", n.Name, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if sc.Node != nil {
				batch.Nodes[n.Name] = *sc.Node
			}
			for pod, cs := range sc.Pods {
				batch.Pods[pod] = cs
			}
		})
	}
	wg.Wait()
	s.cfg.Store.Add(batch)
}

func (s *Scraper) scrapeNode(ctx context.Context, node string) (Scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	body, err := s.cfg.Fetch(ctx, node)
	if err != nil {
		return Scrape{}, err
	}
	defer body.Close()
	sc, err := Decode(io.LimitReader(body, maxScrape), s.cfg.Clock.Now())
	if err != nil {
		return Scrape{}, fmt.Errorf("node %q: %w", node, err)
	}
	return sc, nil
}

// ready reports whether a node's Ready condition is True.
func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
