package apiserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGCFinalizers(t *testing.T) {
	policy := func(p metav1.DeletionPropagation) *metav1.DeleteOptions {
		return &metav1.DeleteOptions{PropagationPolicy: &p}
	}
	orphanDependents := func(b bool) *metav1.DeleteOptions { return &metav1.DeleteOptions{OrphanDependents: &b} }
	const orphan, foreground = metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents
	for _, tc := range []struct {
		name            string
		cur             []string
		opts            *metav1.DeleteOptions
		orphanByDefault bool
		want            []string
	}{
		{"no policy: background", []string{"x"}, nil, false, []string{"x"}},
		{"no policy, orphaning kind", nil, &metav1.DeleteOptions{}, true, []string{orphan}},
		{"foreground", []string{"x"}, policy(metav1.DeletePropagationForeground), false, []string{"x", foreground}},
		{"orphan", nil, policy(metav1.DeletePropagationOrphan), false, []string{orphan}},
		{"background drops both", []string{orphan, "x", foreground}, policy(metav1.DeletePropagationBackground), true, []string{"x"}},
		{"orphan replaces foreground", []string{foreground}, policy(metav1.DeletePropagationOrphan), false, []string{orphan}},
		{"orphanDependents true", nil, orphanDependents(true), false, []string{orphan}},
		{"orphanDependents false on an orphaning kind", nil, orphanDependents(false), true, nil},
		{"a finalizer there stands", []string{foreground}, nil, true, []string{foreground}},
	} {
		got, changed := gcFinalizers(tc.cur, tc.opts, tc.orphanByDefault)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: finalizers %q, want %q", tc.name, got, tc.want)
		}
		if changed != !slices.Equal(tc.cur, tc.want) {
			t.Errorf("%s: changed = %v", tc.name, changed)
		}
	}
}

// TestDeletePropagation: a delete in the foreground or orphaning leaves the object,
// marked deleted, with the garbage collector's finalizer; a delete in the background
// removes it at once.
func TestDeletePropagation(t *testing.T) {
	ts := newTestServer(t)
	ts.createNamespace(t, "ns")
	for _, tc := range []struct {
		policy    string
		finalizer string // "" when the object goes at once
	}{
		{"Foreground", metav1.FinalizerDeleteDependents},
		{"Orphan", metav1.FinalizerOrphanDependents},
		{"Background", ""},
	} {
		name := "cm-" + strings.ToLower(tc.policy)
		ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: "/api/v1/namespaces/ns/configmaps", contentType: mediaJSON,
			body: configMapBody(name, "x")})
		resp := ts.mustDo(t, http.StatusOK, request{method: http.MethodDelete, path: "/api/v1/namespaces/ns/configmaps/" + name + "?propagationPolicy=" + tc.policy})
		var cm corev1.ConfigMap
		if err := json.Unmarshal(resp.body, &cm); err != nil {
			t.Fatal(err)
		}
		get := ts.do(t, request{path: "/api/v1/namespaces/ns/configmaps/" + name, token: adminToken})
		if tc.finalizer == "" {
			if get.code != http.StatusNotFound {
				t.Errorf("%s: GET after the delete is %d, want 404", tc.policy, get.code)
			}
			continue
		}
		if get.code != http.StatusOK || cm.DeletionTimestamp == nil || !slices.Equal(cm.Finalizers, []string{tc.finalizer}) {
			t.Errorf("%s: GET %d; the delete left deletionTimestamp %v, finalizers %q; want the object with [%s]",
				tc.policy, get.code, cm.DeletionTimestamp, cm.Finalizers, tc.finalizer)
		}
	}
}
