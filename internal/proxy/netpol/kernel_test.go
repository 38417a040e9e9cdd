package netpol

import (
	"context"
	"maps"
	"os"
	"slices"
	"testing"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

// TestKernelAcceptsTheRules checks a rich Fragment with the kernel's nft, in a table of
// its own beside minimal base chains (a dry run: nothing changes on the host).
func TestKernelAcceptsTheRules(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	nft, err := knftables.New(knftables.IPv4Family, "podium-netpol-test")
	if err != nil {
		t.Fatal(err)
	}
	f := Build(richInput())
	if len(f.Sets) < 4 || len(f.Chains) < 6 {
		t.Fatalf("the input is not rich enough: %d sets, %d chains", len(f.Sets), len(f.Chains))
	}
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	for _, s := range f.Sets {
		var flags []knftables.SetFlag
		for _, fl := range s.Flags {
			flags = append(flags, knftables.SetFlag(fl))
		}
		tx.Add(&knftables.Set{Name: s.Name, Type: s.Type, Flags: flags})
		for _, e := range s.Elements {
			tx.Add(&knftables.Element{Set: s.Name, Key: e})
		}
	}
	names := slices.Sorted(maps.Keys(f.Chains))
	for _, name := range names {
		tx.Add(&knftables.Chain{Name: name})
	}
	for _, name := range names {
		for _, r := range f.Chains[name] {
			tx.Add(&knftables.Rule{Chain: name, Rule: r})
		}
	}
	for name, rules := range map[string][]string{"filter-forward": f.Forward, "filter-input": f.Input} {
		hook := knftables.ForwardHook
		if name == "filter-input" {
			hook = knftables.InputHook
		}
		tx.Add(&knftables.Chain{Name: name, Type: ptr.To(knftables.FilterType), Hook: ptr.To(hook), Priority: ptr.To(knftables.FilterPriority)})
		for _, r := range rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: r})
		}
	}
	if err := nft.Check(context.Background(), tx); err != nil {
		t.Fatalf("nft refuses the rules: %v\n%s", err, tx)
	}
}
