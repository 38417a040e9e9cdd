package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ginkgoReport is the part of ginkgo's JSON report (--report-complete-ginkgo writes it to
// REPORT_DIR/ginkgo/report.json) that the table is made of.
type ginkgoReport struct {
	SpecReports []struct {
		ContainerHierarchyTexts []string
		LeafNodeType            string
		LeafNodeText            string
		State                   string
		RunTime                 time.Duration
		Failure                 *struct{ Message string }
	}
}

// spec is one spec's result.
type spec struct {
	Area    string        `json:"area"` // the outermost Describe: "[sig-node] Pods"
	Name    string        `json:"name"` // the full text
	State   string        `json:"state"`
	RunTime time.Duration `json:"runTime"`
	Failure string        `json:"failure,omitempty"` // the failure's first line
}

// summary is what a run found, and what the table shows.
type summary struct {
	Specs []spec        `json:"specs"`
	Wall  time.Duration `json:"wall"`  // the suite's wall time; 0 when unknown
	Procs int           `json:"procs"` // specs run in parallel
}

// loadReport reads the ginkgo report of a run, and the wall time saved beside it.
func loadReport(dir string) (*summary, error) {
	data, err := os.ReadFile(filepath.Join(dir, "ginkgo", "report.json"))
	if err != nil {
		return nil, fmt.Errorf("no report of the suite in %s: %w", dir, err)
	}
	s, err := parseReport(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if run, err := os.ReadFile(filepath.Join(dir, "run.json")); err == nil {
		var saved summary
		if json.Unmarshal(run, &saved) == nil {
			s.Wall, s.Procs = saved.Wall, saved.Procs
		}
	}
	return s, nil
}

// parseReport turns a ginkgo JSON report into specs: those that ran, leaving out the
// suite's set-up and report nodes and the specs the selection skipped.
func parseReport(data []byte) (*summary, error) {
	var reports []ginkgoReport
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("reading the ginkgo report: %w", err)
	}
	s := &summary{}
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != "It" || sr.State == "skipped" || sr.State == "pending" {
				continue
			}
			sp := spec{Name: strings.Join(append(append([]string{}, sr.ContainerHierarchyTexts...), sr.LeafNodeText), " "),
				State: sr.State, RunTime: sr.RunTime}
			if len(sr.ContainerHierarchyTexts) > 0 {
				sp.Area = sr.ContainerHierarchyTexts[0]
			}
			if sr.Failure != nil && sr.State != "passed" {
				sp.Failure, _, _ = strings.Cut(strings.TrimSpace(sr.Failure.Message), "\n")
			}
			s.Specs = append(s.Specs, sp)
		}
	}
	sort.Slice(s.Specs, func(i, j int) bool { return s.Specs[i].Name < s.Specs[j].Name })
	return s, nil
}

// save writes the wall time and parallelism of the run beside its report.
func (s *summary) save(dir string) error {
	data, err := json.MarshalIndent(summary{Wall: s.Wall, Procs: s.Procs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "run.json"), data, 0o644)
}

// sig returns the SIG of an area: "sig-node" of "[sig-node] Pods".
func sig(area string) string {
	if strings.HasPrefix(area, "[sig-") {
		if end := strings.Index(area, "]"); end > 0 {
			return area[1:end]
		}
	}
	return "other"
}

type tally struct{ run, passed, failed int }

func (t *tally) add(sp spec) {
	t.run++
	if sp.State == "passed" {
		t.passed++
	} else {
		t.failed++
	}
}

// print writes the table: a row an area with its failures, totals by SIG, and the time
// figures.
func (s *summary) print(w io.Writer) {
	areas, sigs := map[string]*tally{}, map[string]*tally{}
	failures := map[string][]spec{}
	var total tally
	var specTime time.Duration
	for _, sp := range s.Specs {
		if areas[sp.Area] == nil {
			areas[sp.Area] = &tally{}
		}
		if sigs[sig(sp.Area)] == nil {
			sigs[sig(sp.Area)] = &tally{}
		}
		areas[sp.Area].add(sp)
		sigs[sig(sp.Area)].add(sp)
		total.add(sp)
		specTime += sp.RunTime
		if sp.State != "passed" {
			failures[sp.Area] = append(failures[sp.Area], sp)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "AREA\tRUN\tPASSED\tFAILED")
	for _, a := range sortedKeys(areas) {
		t := areas[a]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", a, t.run, t.passed, t.failed)
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%d\n", total.run, total.passed, total.failed)
	tw.Flush()
	if len(sigs) > 1 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "SIG\tRUN\tPASSED\tFAILED")
		for _, g := range sortedKeys(sigs) {
			t := sigs[g]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", g, t.run, t.passed, t.failed)
		}
		tw.Flush()
	}
	for _, a := range sortedKeys(failures) {
		fmt.Fprintf(w, "\nfailed in %s:\n", a)
		for _, sp := range failures[a] {
			fmt.Fprintf(w, "  - %s [%s]\n", strings.TrimSpace(strings.TrimPrefix(sp.Name, a)), sp.State)
			if sp.Failure != "" {
				fmt.Fprintf(w, "      %s\n", truncate(sp.Failure, 200))
			}
		}
	}
	fmt.Fprintf(w, "\nspecs' own time, summed: %s\n", specTime.Round(time.Second))
	if s.Wall > 0 {
		fmt.Fprintf(w, "wall time with %d process(es): %s\n", s.Procs, s.Wall.Round(time.Second))
	}
	if known, imposed, longest := s.imposed(); known > 0 {
		fmt.Fprintf(w, "waits the %d specs of imposed.tsv impose themselves: %s summed, %s the longest\n",
			known, imposed.Round(time.Second), longest.Round(time.Second))
		if s.Wall > 0 && known == len(s.Specs) {
			floor := max(imposed/time.Duration(max(s.Procs, 1)), longest)
			fmt.Fprintf(w, "floor with %d process(es): %s; wall time / floor = %.2f\n",
				s.Procs, floor.Round(time.Second), s.Wall.Seconds()/floor.Seconds())
		}
	}
}

// imposedWaits holds the waits specs impose on any cluster, however fast: spec name,
// TAB, seconds, TAB, how (read off the specs' sources).
//
//go:embed imposed.tsv
var imposedWaits string

// imposed sums the imposed waits of the specs that ran and that the table knows, and
// finds the longest; known is how many it knew.
func (s *summary) imposed() (known int, sum, longest time.Duration) {
	table := map[string]time.Duration{}
	for _, line := range strings.Split(imposedWaits, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		if secs, err := strconv.Atoi(f[1]); err == nil {
			table[f[0]] = time.Duration(secs) * time.Second
		}
	}
	for _, sp := range s.Specs {
		if d, ok := table[sp.Name]; ok {
			known++
			sum += d
			longest = max(longest, d)
		}
	}
	return known, sum, longest
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
