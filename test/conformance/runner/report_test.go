package main

import (
	"strings"
	"testing"
	"time"
)

// A ginkgo report as --report-complete-ginkgo writes it, cut to what the table uses.
const sampleReport = `[{"SpecReports": [
 {"ContainerHierarchyTexts": ["[sig-node] Pods"], "LeafNodeType": "It", "LeafNodeText": "should be updated [NodeConformance] [Conformance]",
  "State": "passed", "RunTime": 3000000000},
 {"ContainerHierarchyTexts": ["[sig-node] Probing container"], "LeafNodeType": "It",
  "LeafNodeText": "with readiness probe that fails should never be ready and never restart [Conformance] [NodeConformance]",
  "State": "failed", "RunTime": 61000000000, "Failure": {"Message": "pod became ready\nmore detail"}},
 {"ContainerHierarchyTexts": ["[sig-apps] Deployment"], "LeafNodeType": "It", "LeafNodeText": "is skipped", "State": "skipped"},
 {"LeafNodeType": "SynchronizedBeforeSuite", "State": "passed", "RunTime": 1000000000}
]}]`

func TestReportTable(t *testing.T) {
	s, err := parseReport([]byte(sampleReport))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Specs) != 2 {
		t.Fatalf("specs %+v: want the two that ran", s.Specs)
	}
	s.Wall, s.Procs = 90*time.Second, 2
	var b strings.Builder
	s.print(&b)
	out := b.String()
	for _, want := range []string{
		"[sig-node] Pods               1    1       0",
		"[sig-node] Probing container  1    0       1",
		"TOTAL                         2    1       1",
		"failed in [sig-node] Probing container:\n  - with readiness probe that fails should never be ready and never restart [Conformance] [NodeConformance] [failed]\n      pod became ready\n",
		"specs' own time, summed: 1m4s",
		"wall time with 2 process(es): 1m30s",
		"waits the 1 specs of imposed.tsv impose themselves: 1m0s summed, 1m0s the longest",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}

// TestImposedTable: every line of imposed.tsv parses, and it covers the five files' 85
// specs.
func TestImposedTable(t *testing.T) {
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(imposedWaits), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Split(line, "\t"); len(f) != 3 || f[0] == "" || f[2] == "" {
			t.Fatalf("line %q", line)
		}
		n++
	}
	if n != 85 {
		t.Fatalf("%d specs in imposed.tsv, want 85", n)
	}
}
