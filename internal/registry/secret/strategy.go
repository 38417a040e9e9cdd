package secret

import (
	"encoding/json"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

// maxSize is the most data a secret may hold, in bytes.
const maxSize = 1 << 20

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the secret strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:    "v1",
		Kind:       "Secret",
		ListKind:   "SecretList",
		Resource:   "secrets",
		Singular:   "secret",
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Secret{} }
func (*strategy) NewList() runtime.Object { return &corev1.SecretList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*strategy) PrepareForCreate(obj runtime.Object)            {}
func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default moves stringData into data, a stringData key winning over the same data key,
// as upstream's conversion does: secrets are never stored or returned with stringData.
// An empty type becomes Opaque.
func (*strategy) Default(obj runtime.Object) {
	s := obj.(*corev1.Secret)
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	s := obj.(*corev1.Secret)
	data := field.NewPath("data")
	var errs field.ErrorList
	size := 0
	for key, value := range s.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(data.Key(key), key, msg))
		}
		size += len(value)
	}
	if size > maxSize {
		errs = append(errs, field.TooLong(data, "", maxSize))
	}
	return append(errs, validateType(s, data)...)
}

// validateType checks the keys each built-in type requires. Other types are free-form.
func validateType(s *corev1.Secret, data *field.Path) field.ErrorList {
	has := func(key string) bool { _, ok := s.Data[key]; return ok }
	requireJSON := func(key string) field.ErrorList {
		if !has(key) {
			return field.ErrorList{field.Required(data.Key(key), "")}
		}
		if err := json.Unmarshal(s.Data[key], &map[string]interface{}{}); err != nil {
			return field.ErrorList{field.Invalid(data.Key(key), "<secret contents redacted>", err.Error())}
		}
		return nil
	}
	var errs field.ErrorList
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		errs = append(errs, requireJSON(corev1.DockerConfigKey)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, requireJSON(corev1.DockerConfigJsonKey)...)
	case corev1.SecretTypeBasicAuth:
		// Either key may be empty, but one must be present.
		if !has(corev1.BasicAuthUsernameKey) && !has(corev1.BasicAuthPasswordKey) {
			errs = append(errs,
				field.Required(data.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(data.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(data.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		for _, key := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
			if !has(key) {
				errs = append(errs, field.Required(data.Key(key), ""))
			}
		}
	}
	return errs
}

// ValidateUpdate forbids changing the type, changing the data of an immutable secret, or
// making it mutable again.
func (st *strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	s, oldS := obj.(*corev1.Secret), old.(*corev1.Secret)
	errs := apivalidation.ValidateImmutableField(s.Type, oldS.Type, field.NewPath("type"))
	if oldS.Immutable != nil && *oldS.Immutable {
		const msg = "field is immutable when `immutable` is set"
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msg))
		}
		if !reflect.DeepEqual(s.Data, oldS.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msg))
		}
	}
	return append(errs, st.Validate(obj)...)
}

func (st *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return st.ValidateUpdate(obj, old)
}

func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, true)
	set["type"] = string(obj.(*corev1.Secret).Type)
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	doc := corev1.Secret{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Data", Type: "string", Description: doc["data"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	s := obj.(*corev1.Secret)
	return []interface{}{s.Name, string(s.Type), int64(len(s.Data)), registry.Since(s.CreationTimestamp.Time, now)}
}
