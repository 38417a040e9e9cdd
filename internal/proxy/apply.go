package proxy

import (
	"context"
	"maps"
	"slices"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	"github.com/podium/podium/internal/proxy/netpol"
)

// table writes rulesets to the kernel. It remembers what it wrote, so that a sync
// writes only what changed; after a failure, or when forced, it writes everything.
type table struct {
	nft     knftables.Interface
	applied *ruleset // nil: the next write replaces the whole table
}

// write makes the table hold want, in one transaction.
func (t *table) write(ctx context.Context, want *ruleset) error {
	tx := t.nft.NewTransaction()
	if t.applied == nil {
		replace(tx, want)
	} else {
		update(tx, t.applied, want)
	}
	if tx.NumOperations() == 0 {
		return nil
	}
	if err := t.nft.Run(ctx, tx); err != nil {
		t.applied = nil
		return err
	}
	t.applied = want
	return nil
}

// remove deletes the table.
func (t *table) remove(ctx context.Context) error {
	tx := t.nft.NewTransaction()
	tx.Add(&knftables.Table{}) // nft 1.0.6 has no destroy: add, so the delete finds it
	tx.Delete(&knftables.Table{})
	t.applied = nil
	return t.nft.Run(ctx, tx)
}

// replace deletes the table (if it exists) and makes it anew with want: the kernel
// applies the transaction at once, so packets never see it half made.
func replace(tx *knftables.Transaction, want *ruleset) {
	tx.Add(&knftables.Table{})
	tx.Delete(&knftables.Table{})
	tx.Add(&knftables.Table{Comment: ptr.To("podium's service dataplane")})
	for _, c := range containers {
		if c.isSet {
			tx.Add(&knftables.Set{Name: c.name, Type: c.typ})
		} else {
			tx.Add(&knftables.Map{Name: c.name, Type: c.typ})
		}
	}
	for _, name := range sortedKeys(want.affinity) {
		tx.Add(affinitySet(name, want.affinity[name]))
	}
	for _, name := range sortedKeys(want.sets) {
		tx.Add(policySet(name, want.sets[name]))
	}
	names := sortedKeys(want.chains)
	for _, name := range names {
		tx.Add(&knftables.Chain{Name: name})
	}
	for _, name := range names {
		addRules(tx, name, want.chains[name])
	}
	for _, name := range sortedKeys(want.elements) {
		isSet := want.isSet(name)
		for _, k := range sortedKeys(want.elements[name]) {
			tx.Add(elementOf(name, isSet, want.elements[name][k]))
		}
	}
	_, policies := want.chains[netpol.EgressChain]
	for _, bc := range baseChains {
		tx.Add(&knftables.Chain{Name: bc.name, Type: ptr.To(bc.typ), Hook: ptr.To(bc.hook), Priority: ptr.To(bc.prio)})
		addRules(tx, bc.name, bc.rules)
		if policies {
			addRules(tx, bc.name, policyHooks[bc.name])
		}
	}
}

// policyHooks are the rules of the NetworkPolicy chains in the base chains, after the
// Service rules (netpol.Fragment's Forward and Input, which never change).
var policyHooks = func() map[string][]string {
	f := netpol.Build(netpol.Input{})
	return map[string][]string{"filter-forward": f.Forward, "filter-input": f.Input}
}()

// isSet reports whether the elements of name are a set's (not a map's).
func (r *ruleset) isSet(name string) bool {
	if _, ok := r.sets[name]; ok {
		return true
	}
	for _, c := range containers {
		if c.name == name {
			return c.isSet
		}
	}
	return false
}

// update changes the table from old to want: new chains and sets first, so that
// elements and rules may refer to them; then the map and set elements; then the
// chains whose rules changed; then what is gone, once nothing refers to it.
func update(tx *knftables.Transaction, old, want *ruleset) {
	names := sortedKeys(want.chains)
	for _, name := range names {
		if _, ok := old.chains[name]; !ok {
			tx.Add(&knftables.Chain{Name: name})
		}
	}
	for _, name := range sortedKeys(want.affinity) {
		if _, ok := old.affinity[name]; !ok {
			tx.Add(affinitySet(name, want.affinity[name]))
		}
	}
	for _, name := range sortedKeys(want.sets) {
		if _, ok := old.sets[name]; !ok {
			tx.Add(policySet(name, want.sets[name]))
		}
	}
	for _, name := range sortedKeys(want.elements) {
		was, is, isSet := old.elements[name], want.elements[name], want.isSet(name)
		for _, k := range sortedKeys(was) {
			if e, ok := is[k]; !ok || !slices.Equal(e.value, was[k].value) {
				tx.Delete(elementOf(name, isSet, element{key: was[k].key}))
			}
		}
		for _, k := range sortedKeys(is) {
			if e, ok := was[k]; !ok || !slices.Equal(e.value, is[k].value) {
				tx.Add(elementOf(name, isSet, is[k]))
			}
		}
	}
	for _, name := range names {
		rules, ok := old.chains[name]
		if ok && slices.Equal(rules, want.chains[name]) {
			continue
		}
		if ok {
			tx.Flush(&knftables.Chain{Name: name})
		}
		addRules(tx, name, want.chains[name])
	}
	var gone []string
	for _, name := range sortedKeys(old.chains) {
		if _, ok := want.chains[name]; !ok {
			gone = append(gone, name)
			tx.Flush(&knftables.Chain{Name: name})
		}
	}
	for _, name := range gone {
		tx.Delete(&knftables.Chain{Name: name})
	}
	for _, name := range sortedKeys(old.affinity) {
		if _, ok := want.affinity[name]; !ok {
			tx.Delete(&knftables.Set{Name: name})
		}
	}
	for _, name := range sortedKeys(old.sets) {
		if _, ok := want.sets[name]; !ok {
			tx.Delete(&knftables.Set{Name: name})
		}
	}
}

func addRules(tx *knftables.Transaction, chain string, rules []string) {
	for _, r := range rules {
		tx.Add(&knftables.Rule{Chain: chain, Rule: r})
	}
}

func affinitySet(name string, seconds int32) *knftables.Set {
	return &knftables.Set{Name: name, Type: "ipv4_addr", Flags: []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag},
		Timeout: ptr.To(time.Duration(seconds) * time.Second)}
}

func policySet(name string, def setDef) *knftables.Set {
	return &knftables.Set{Name: name, Type: def.typ, Flags: def.flags}
}

func elementOf(container string, isSet bool, e element) *knftables.Element {
	if isSet {
		return &knftables.Element{Set: container, Key: e.key}
	}
	return &knftables.Element{Map: container, Key: e.key, Value: e.value}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
