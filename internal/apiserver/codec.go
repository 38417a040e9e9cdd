package apiserver

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// outputForm says how a response body is shaped: the object itself, a meta.k8s.io Table of
// it, or only its metadata (PartialObjectMetadata).
type outputForm int

const (
	formObject outputForm = iota
	formTable
	formMetadata
)

// mediaType is the negotiated encoding of a response.
type mediaType struct {
	info runtime.SerializerInfo
	form outputForm
	// tableVersion is the meta.k8s.io version a Table was asked in (v1 or v1beta1).
	tableVersion string
}

// codecs wraps the codec factory with the media types podium speaks.
type codecs struct {
	factory serializer.CodecFactory
	byType  map[string]runtime.SerializerInfo
}

func newCodecs(scheme *runtime.Scheme) *codecs {
	f := serializer.NewCodecFactory(scheme)
	c := &codecs{factory: f, byType: map[string]runtime.SerializerInfo{}}
	for _, info := range f.SupportedMediaTypes() {
		c.byType[info.MediaType] = info
	}
	return c
}

// negotiate picks the response encoding from the Accept header, honouring the order in
// which the client listed its choices. Table and metadata forms are only chosen when
// allowed (on get, list and watch). With no acceptable choice it returns false.
func (c *codecs) negotiate(accept string, allowForms bool) (mediaType, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaType{info: c.byType[mediaJSON]}, true
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			mt = mediaJSON
		case "application/vnd.kubernetes.protobuf;stream=watch":
			mt = mediaProtobuf
		}
		info, ok := c.byType[mt]
		if !ok {
			continue
		}
		res := mediaType{info: info}
		if as := params["as"]; as != "" {
			if !allowForms || params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table":
				res.form, res.tableVersion = formTable, params["v"]
			case "PartialObjectMetadata", "PartialObjectMetadataList":
				res.form = formMetadata
			default:
				continue
			}
		}
		return res, true
	}
	return mediaType{}, false
}

// decoderFor returns the serializers for a request body of the given Content-Type: the
// lenient one and the strict one, which also reports unknown and duplicated fields.
func (c *codecs) decoderFor(contentType string) (lenient, strict runtime.Decoder, err error) {
	mt := mediaJSON
	if contentType != "" {
		parsed, _, perr := mime.ParseMediaType(contentType)
		if perr != nil {
			return nil, nil, fmt.Errorf("invalid Content-Type %q: %v", contentType, perr)
		}
		mt = parsed
	}
	info, ok := c.byType[mt]
	if !ok {
		return nil, nil, fmt.Errorf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(c.mediaTypes(), ", "))
	}
	strict = info.StrictSerializer
	if strict == nil {
		strict = info.Serializer
	}
	return info.Serializer, strict, nil
}

func (c *codecs) mediaTypes() []string {
	var out []string
	for _, info := range c.factory.SupportedMediaTypes() {
		out = append(out, info.MediaType)
	}
	return out
}

// maxBody is the largest request body accepted, as upstream's 3 MiB.
const maxBody = 3 << 20

// readBody reads a request body of at most maxBody bytes; a larger one is errTooLarge.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBody {
		return nil, errTooLarge
	}
	return data, nil
}

// textOnly removes from an Accept header the media types custom resources are not
// served in (protobuf and CBOR), as upstream serves them in JSON and YAML only.
func textOnly(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return accept
	}
	var kept []string
	for _, clause := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil || strings.Contains(mt, "protobuf") || strings.Contains(mt, "cbor") {
			continue
		}
		kept = append(kept, clause)
	}
	if len(kept) == 0 {
		return "none/none"
	}
	return strings.Join(kept, ",")
}
