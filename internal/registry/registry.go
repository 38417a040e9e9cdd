package registry

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Info names a served resource and says how it is addressed.
type Info struct {
	Group    string // "" for the core group
	Version  string // "v1"
	Kind     string // "Pod"
	ListKind string // "PodList"
	Resource string // plural, lower case: "pods"
	Singular string // "pod"

	ShortNames []string // "po"
	Categories []string // "all"
	Namespaced bool

	// Subresources lists the subresources served besides the object itself, for
	// example "status", "binding", "eviction".
	Subresources []string

	// StorageResource, when set, names the resource whose etcd keys hold these objects
	// (events.k8s.io/v1 events live with core/v1 events). Empty means Resource.
	StorageResource string
	// StorageVersion, when set, is the version the objects are stored in, for the
	// storage version hash of discovery (a custom resource's storage version). Empty
	// means Version.
	StorageVersion string
}

// GroupVersion returns the resource's API group and version.
func (i Info) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: i.Group, Version: i.Version}
}

// GroupVersionKind returns the kind of one object of the resource.
func (i Info) GroupVersionKind() schema.GroupVersionKind {
	return i.GroupVersion().WithKind(i.Kind)
}

// GroupVersionResource returns the resource's full name.
func (i Info) GroupVersionResource() schema.GroupVersionResource {
	return i.GroupVersion().WithResource(i.Resource)
}

// Strategy is the behaviour of one resource. Every method must be safe for concurrent use
// and must not keep references to the objects it is given.
type Strategy interface {
	// Info names the resource.
	Info() Info
	// New returns an empty object of the resource's kind; NewList an empty list of them.
	New() runtime.Object
	NewList() runtime.Object

	// ValidateName checks metadata.name (or, with prefix true, metadata.generateName)
	// and returns problems as messages, as apimachinery's ValidateNameFunc does.
	ValidateName(name string, prefix bool) []string

	// PrepareForCreate resets what a client may not set on create (usually the status)
	// and fills fields the server owns, before defaulting and validation.
	PrepareForCreate(obj runtime.Object)
	// PrepareForUpdate carries over from old what a client may not change through the
	// main resource (usually the status) before defaulting and validation.
	PrepareForUpdate(obj, old runtime.Object)
	// PrepareForStatusUpdate carries over from old everything but the status, for
	// writes through the status subresource.
	PrepareForStatusUpdate(obj, old runtime.Object)

	// Default fills the fields upstream defaults. It runs on every write, after the
	// Prepare step, and must be idempotent.
	Default(obj runtime.Object)

	// Validate checks a new object's spec and status (object metadata is checked by
	// the caller) and returns every problem with its field path.
	Validate(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update, including what may not change.
	ValidateUpdate(obj, old runtime.Object) field.ErrorList
	// ValidateStatusUpdate checks a write through the status subresource.
	ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList

	// Fields returns the values a field selector can match, metadata.name and (for
	// namespaced resources) metadata.namespace included.
	Fields(obj runtime.Object) fields.Set

	// Columns returns the server-side Table columns, upstream's names, types and
	// priorities (priority 1 columns show with -o wide). The first is "Name".
	Columns() []metav1.TableColumnDefinition
	// Row returns one Table row's cells for obj, in the order of Columns, as of now.
	Row(obj runtime.Object, now time.Time) []interface{}
}

// GracefulDeleter is implemented by strategies whose objects can be deleted gracefully
// (pods). The API server consults it before removing an object.
type GracefulDeleter interface {
	// CheckGracefulDelete decides whether deleting obj waits: it returns the grace
	// period in seconds to record in deletionGracePeriodSeconds, and true; or false
	// when the object is removed at once. opts may be nil; a GracePeriodSeconds of 0
	// in opts means now.
	CheckGracefulDelete(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool)
}

// Converter is implemented by strategies that serve a version of a kind stored in
// another form (events.k8s.io/v1 events are stored as core/v1 events). The API server
// converts every object crossing the storage boundary with it.
type Converter interface {
	// ToStorage converts an object of this resource into its stored form.
	ToStorage(obj runtime.Object) (runtime.Object, error)
	// FromStorage converts a stored object into this resource's form.
	FromStorage(obj runtime.Object) (runtime.Object, error)
	// NewStorage returns an empty object of the stored kind.
	NewStorage() runtime.Object
}

// Terminator is implemented by strategies whose objects, once deleted, stay in a
// terminating state held by more than metadata.finalizers (a namespace is held by its
// spec.finalizers until its content is gone).
type Terminator interface {
	// Terminate marks obj as terminating, as a delete begins (a namespace's phase
	// becomes Terminating). It must be idempotent.
	Terminate(obj runtime.Object)
	// Held reports whether obj must stay even with no metadata.finalizers left.
	Held(obj runtime.Object) bool
}

// DeleteChecker is implemented by strategies that refuse some deletes outright (the
// namespaces every cluster needs).
type DeleteChecker interface {
	// CheckDelete returns an API error if obj may not be deleted.
	CheckDelete(obj runtime.Object) error
}

// SubresourceWriter is implemented by strategies whose objects are also written through
// subresources of their own besides status: namespaces' finalize (a controller removes
// the spec finalizer it is done with), pods' ephemeralcontainers (debug containers are
// added).
type SubresourceWriter interface {
	// PrepareForSubresourceUpdate carries over from old everything a write through
	// subresource may not change.
	PrepareForSubresourceUpdate(subresource string, obj, old runtime.Object)
	// ValidateSubresourceUpdate checks a write through subresource.
	ValidateSubresourceUpdate(subresource string, obj, old runtime.Object) field.ErrorList
}

// Scaler is implemented by strategies whose objects have a scale subresource
// (Deployments, ReplicaSets, StatefulSets, ReplicationControllers): the API server
// serves it as an autoscaling/v1 Scale built from these.
type Scaler interface {
	// Replicas returns the object's spec.replicas (its default when unset), its
	// status.replicas, and its label selector in the string form of Scale's
	// status.selector ("" when it has none).
	Replicas(obj runtime.Object) (spec, status int32, selector string)
	// SetReplicas sets spec.replicas on obj.
	SetReplicas(obj runtime.Object, replicas int32)
}

// DependentsOrphaner is implemented by strategies whose objects, deleted with no
// propagation policy, leave their dependents orphaned rather than deleted, as upstream
// keeps for core/v1 ReplicationControllers and batch/v1 Jobs; for everything else the
// garbage collector deletes dependents by default.
type DependentsOrphaner interface {
	OrphansDependentsByDefault() bool
}

// StatusMetadataWriter is implemented by strategies whose status writes may also change
// the object's labels, annotations, finalizers and owner references, as upstream's
// workload resources allow; PrepareForStatusUpdate then keeps what must not change.
// For every other resource a status write keeps the stored metadata.
type StatusMetadataWriter interface {
	StatusWritesMetadata()
}

// Pruner is implemented by strategies whose schema decides which fields an object may
// have (custom resources): Prune drops the others from a decoded object and returns
// their paths, which strict field validation reports; its error refuses the object.
type Pruner interface {
	Prune(obj runtime.Object) ([]string, error)
}
