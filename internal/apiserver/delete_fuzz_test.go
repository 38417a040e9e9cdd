package apiserver

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
)

// FuzzParseDeleteOptions feeds DELETE bodies (JSON, YAML, protobuf or bare JSON of older
// clients) and query strings to parseDeleteOptions. Bad options are a 400 (422 when
// they decode but are invalid); good ones are valid, re-encode, and drive the graceful
// delete of a running pod without panicking: it is marked with a grace period of at
// least 1 second, or goes at once, as with gracePeriodSeconds=0.
func FuzzParseDeleteOptions(f *testing.F) {
	s, resources := fuzzServer(f)
	pods := resources[indexOf(f, resources, "", "pods")]
	zero := int64(0)
	pb := &metav1.DeleteOptions{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"}, GracePeriodSeconds: &zero}
	for _, seed := range []struct {
		contentType, body, query string
	}{
		{"", "", ""},
		{"", "", "gracePeriodSeconds=0"},
		{"", "", "gracePeriodSeconds=-5&propagationPolicy=Foreground&dryRun=All"},
		{"", "", "gracePeriodSeconds=x"},
		{"", "", "propagationPolicy=Sideways&dryRun=Some"},
		{mediaJSON, `{"apiVersion":"v1","kind":"DeleteOptions","gracePeriodSeconds":30,"propagationPolicy":"Background"}`, ""},
		{mediaJSON, `{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","preconditions":{"uid":"u","resourceVersion":"5"}}`, ""},
		{mediaJSON, `{"gracePeriodSeconds":9223372036854775807,"orphanDependents":true}`, ""},
		{mediaJSON, `{"orphanDependents":true,"propagationPolicy":"Foreground"}`, ""},
		{mediaJSON, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}`, ""},
		{mediaJSON, `{"dryRun":["All"],"ignoreStoreReadErrorWithClusterBreakingPotential":true}`, "gracePeriodSeconds=1"},
		{mediaYAML, "apiVersion: v1\nkind: DeleteOptions\ngracePeriodSeconds: 5\n", ""},
		{mediaProtobuf, string(protobufOf(f, s, pb)), ""},
		{mediaJSON, `{`, ""},
		{"text/plain", `{}`, ""},
	} {
		f.Add(seed.contentType, []byte(seed.body), seed.query)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, query string) {
		r := &http.Request{
			Method: http.MethodDelete,
			URL:    &url.URL{Path: "/api/v1/namespaces/fuzz/pods/p", RawQuery: query},
			Header: http.Header{"Content-Type": {contentType}},
			Body:   io.NopCloser(bytes.NewReader(body)),
		}
		opts, err := s.parseDeleteOptions(r)
		if err != nil {
			wantClientError(t, err, pods, http.StatusBadRequest, http.StatusUnprocessableEntity)
			return
		}
		if errs := metav1validation.ValidateDeleteOptions(opts); len(errs) > 0 {
			t.Fatalf("accepted invalid options: %v", errs)
		}
		encodeAs(t, s, mediaJSON, opts)
		encodeAs(t, s, mediaProtobuf, opts)

		grace := int64(30)
		running := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "fuzz"},
			Spec:       corev1.PodSpec{NodeName: "n", TerminationGracePeriodSeconds: &grace},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
		next, stays := s.markDeleting(pods, running, opts)
		now := opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds == 0
		if stays == now {
			t.Fatalf("gracePeriodSeconds %v: the pod stays %v", opts.GracePeriodSeconds, stays)
		}
		if stays {
			p := next.(*corev1.Pod)
			if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds < 1 {
				t.Fatalf("marked with deletionTimestamp %v, deletionGracePeriodSeconds %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
			}
		}
	})
}
