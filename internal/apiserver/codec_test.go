package apiserver

import (
	"testing"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// Accept headers kubectl and client-go send (see FACTS.md).
const (
	acceptKubectlGet      = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	acceptTable           = "application/json;as=Table;v=v1;g=meta.k8s.io"
	acceptProtobufOrJSON  = "application/vnd.kubernetes.protobuf,application/json"
	acceptDiscoveryOrJSON = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)

func TestNegotiate(t *testing.T) {
	c := newCodecs(clientgoscheme.Scheme)
	tests := []struct {
		name       string
		accept     string
		allowForms bool
		wantOK     bool
		wantType   string
		wantForm   outputForm
		wantTable  string // tableVersion
	}{
		{name: "none", accept: "", wantOK: true, wantType: mediaJSON},
		{name: "blank", accept: "  ", wantOK: true, wantType: mediaJSON},
		{name: "json", accept: "application/json", wantOK: true, wantType: mediaJSON},
		{name: "json with charset", accept: "application/json; charset=utf-8", wantOK: true, wantType: mediaJSON},
		{name: "yaml", accept: "application/yaml", wantOK: true, wantType: mediaYAML},
		{name: "protobuf", accept: mediaProtobuf, wantOK: true, wantType: mediaProtobuf},
		{name: "protobuf first", accept: acceptProtobufOrJSON, wantOK: true, wantType: mediaProtobuf},
		{name: "protobuf watch stream", accept: "application/vnd.kubernetes.protobuf;stream=watch", wantOK: true, wantType: mediaProtobuf},
		{name: "json first", accept: "application/json,application/vnd.kubernetes.protobuf", wantOK: true, wantType: mediaJSON},
		{name: "anything", accept: "*/*", wantOK: true, wantType: mediaJSON},
		{name: "any application type", accept: "application/*", wantOK: true, wantType: mediaJSON},
		{name: "browser", accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", wantOK: true, wantType: mediaJSON},
		{name: "unsupported", accept: "text/html"},
		{name: "unsupported list", accept: "text/plain, application/xml"},
		{name: "malformed then json", accept: "???,application/json", wantOK: true, wantType: mediaJSON},
		{name: "unsupported then json", accept: "text/html,application/json", wantOK: true, wantType: mediaJSON},

		// Tables, as kubectl get asks for them.
		{name: "kubectl get", accept: acceptKubectlGet, allowForms: true, wantOK: true, wantType: mediaJSON, wantForm: formTable, wantTable: "v1"},
		{name: "kubectl get, forms refused", accept: acceptKubectlGet, wantOK: true, wantType: mediaJSON, wantForm: formObject},
		{name: "table only", accept: acceptTable, allowForms: true, wantOK: true, wantType: mediaJSON, wantForm: formTable, wantTable: "v1"},
		{name: "table only, forms refused", accept: acceptTable},
		{name: "table v1beta1", accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io", allowForms: true, wantOK: true, wantType: mediaJSON, wantForm: formTable, wantTable: "v1beta1"},
		{name: "table as protobuf", accept: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", allowForms: true, wantOK: true, wantType: mediaProtobuf, wantForm: formTable, wantTable: "v1"},
		{name: "table of unknown version", accept: "application/json;as=Table;v=v2;g=meta.k8s.io", allowForms: true},
		{name: "table of another group", accept: "application/json;as=Table;v=v1;g=example.com", allowForms: true},
		{name: "table without group", accept: "application/json;as=Table;v=v1", allowForms: true},
		{name: "unknown form", accept: "application/json;as=Thing;v=v1;g=meta.k8s.io", allowForms: true},
		{name: "unknown form then json", accept: "application/json;as=Thing;v=v1;g=meta.k8s.io,application/json", allowForms: true, wantOK: true, wantType: mediaJSON},
		{name: "table of unsupported type", accept: "text/html;as=Table;v=v1;g=meta.k8s.io", allowForms: true},

		// Metadata only.
		{name: "partial metadata", accept: "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", allowForms: true, wantOK: true, wantType: mediaJSON, wantForm: formMetadata},
		{name: "partial metadata list", accept: "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", allowForms: true, wantOK: true, wantType: mediaProtobuf, wantForm: formMetadata},
		{name: "partial metadata, forms refused", accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", wantOK: true, wantType: mediaJSON},

		// The discovery Accept header on a resource: the plain JSON fallback.
		{name: "discovery accept", accept: acceptDiscoveryOrJSON, allowForms: true, wantOK: true, wantType: mediaJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.negotiate(tt.accept, tt.allowForms)
			if ok != tt.wantOK {
				t.Fatalf("negotiate(%q, %v) ok = %v, want %v", tt.accept, tt.allowForms, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got.info.MediaType != tt.wantType || got.form != tt.wantForm || got.tableVersion != tt.wantTable {
				t.Errorf("negotiate(%q, %v) = %s form %d table %q, want %s form %d table %q", tt.accept, tt.allowForms,
					got.info.MediaType, got.form, got.tableVersion, tt.wantType, tt.wantForm, tt.wantTable)
			}
			if got.info.Serializer == nil {
				t.Error("negotiated media type has no serializer")
			}
		})
	}
}

func TestDecoderFor(t *testing.T) {
	c := newCodecs(clientgoscheme.Scheme)
	tests := []struct {
		name        string
		contentType string
		wantErr     bool
	}{
		{name: "none means json", contentType: ""},
		{name: "json", contentType: "application/json"},
		{name: "json with charset", contentType: "application/json; charset=utf-8"},
		{name: "yaml", contentType: "application/yaml"},
		{name: "protobuf", contentType: mediaProtobuf},
		{name: "unknown", contentType: "text/plain", wantErr: true},
		{name: "malformed", contentType: "application/json; =", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lenient, strict, err := c.decoderFor(tt.contentType)
			if (err != nil) != tt.wantErr {
				t.Fatalf("decoderFor(%q) error %v, want error %v", tt.contentType, err, tt.wantErr)
			}
			if err == nil && (lenient == nil || strict == nil) {
				t.Errorf("decoderFor(%q) = %v, %v", tt.contentType, lenient, strict)
			}
		})
	}
}
