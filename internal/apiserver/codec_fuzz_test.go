package apiserver

import (
	"testing"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// FuzzNegotiate feeds Accept headers to negotiate. A choice it makes is a media type the
// server speaks; a Table or metadata form only where forms are allowed, a Table only of
// meta.k8s.io v1 or v1beta1.
func FuzzNegotiate(f *testing.F) {
	c := newCodecs(clientgoscheme.Scheme)
	for _, accept := range []string{
		"", "*/*", mediaJSON, mediaYAML, mediaProtobuf, acceptKubectlGet, acceptTable, acceptProtobufOrJSON,
		acceptDiscoveryOrJSON, "application/vnd.kubernetes.protobuf;stream=watch",
		"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"application/json;as=Table;v=v2;g=meta.k8s.io", "???,", "application/json; =", `application/json;as="Table";v=v1;g=meta.k8s.io`,
	} {
		f.Add(accept, true)
		f.Add(accept, false)
	}
	f.Fuzz(func(t *testing.T, accept string, allowForms bool) {
		mt, ok := c.negotiate(accept, allowForms)
		if !ok {
			return
		}
		if info, known := c.byType[mt.info.MediaType]; !known || info.Serializer == nil {
			t.Fatalf("negotiated %q, which the server does not speak", mt.info.MediaType)
		}
		if mt.form != formObject && !allowForms {
			t.Fatalf("form %d where forms are not allowed", mt.form)
		}
		if (mt.form == formTable) != (mt.tableVersion != "") {
			t.Fatalf("form %d with table version %q", mt.form, mt.tableVersion)
		}
		if mt.form == formTable && mt.tableVersion != "v1" && mt.tableVersion != "v1beta1" {
			t.Fatalf("table version %q", mt.tableVersion)
		}
	})
}
