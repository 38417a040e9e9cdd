package flowcontrol

import (
	"strings"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy = (*flowSchemas)(nil)
	_ registry.Strategy = (*priorityLevels)(nil)
)

// NewFlowSchemas returns the FlowSchema strategy.
func NewFlowSchemas() registry.Strategy { return &flowSchemas{} }

// NewPriorityLevelConfigurations returns the PriorityLevelConfiguration strategy.
func NewPriorityLevelConfigurations() registry.Strategy { return &priorityLevels{} }

// Upstream's v1 defaults.
const (
	defaultMatchingPrecedence       int32 = 1000
	defaultNominalConcurrencyShares int32 = 30
	defaultQueues                   int32 = 64
	defaultHandSize                 int32 = 8
	defaultQueueLengthLimit         int32 = 50
)

// info names a cluster-scoped kind of the group, served with its status subresource.
func info(kind, resource string) registry.Info {
	return registry.Info{
		Group:        flowcontrolv1.GroupName,
		Version:      "v1",
		Kind:         kind,
		ListKind:     kind + "List",
		Resource:     resource,
		Singular:     strings.ToLower(kind),
		Subresources: []string{"status"},
	}
}

// flowSchemas is the FlowSchema strategy.
type flowSchemas struct{}

func (*flowSchemas) Info() registry.Info     { return info("FlowSchema", "flowschemas") }
func (*flowSchemas) New() runtime.Object     { return &flowcontrolv1.FlowSchema{} }
func (*flowSchemas) NewList() runtime.Object { return &flowcontrolv1.FlowSchemaList{} }

func (*flowSchemas) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops the status and starts the generation.
func (*flowSchemas) PrepareForCreate(obj runtime.Object) {
	fs := obj.(*flowcontrolv1.FlowSchema)
	fs.Status = flowcontrolv1.FlowSchemaStatus{}
	fs.Generation = 1
}

// PrepareForUpdate keeps the status and bumps the generation when the spec changes.
func (*flowSchemas) PrepareForUpdate(obj, old runtime.Object) {
	fs, o := obj.(*flowcontrolv1.FlowSchema), old.(*flowcontrolv1.FlowSchema)
	if !equality.Semantic.DeepEqual(fs.Spec, o.Spec) {
		fs.Generation = o.Generation + 1
	}
	fs.Status = o.Status
}

func (*flowSchemas) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*flowcontrolv1.FlowSchema).Spec = old.(*flowcontrolv1.FlowSchema).Spec
}

// Default sets matchingPrecedence 1000 when it is 0.
func (*flowSchemas) Default(obj runtime.Object) {
	spec := &obj.(*flowcontrolv1.FlowSchema).Spec
	if spec.MatchingPrecedence == 0 {
		spec.MatchingPrecedence = defaultMatchingPrecedence
	}
}

func (*flowSchemas) Validate(obj runtime.Object) field.ErrorList {
	return validateFlowSchema(obj.(*flowcontrolv1.FlowSchema))
}

// ValidateUpdate checks the object as on create: upstream lets every field change.
func (*flowSchemas) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateFlowSchema(obj.(*flowcontrolv1.FlowSchema))
}

func (*flowSchemas) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateFlowSchemaStatus(&obj.(*flowcontrolv1.FlowSchema).Status)
}

func (*flowSchemas) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (*flowSchemas) Columns() []metav1.TableColumnDefinition {
	spec := flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "PriorityLevel", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"]},
		{Name: "MatchingPrecedence", Type: "string", Description: spec["matchingPrecedence"]},
		{Name: "DistinguisherMethod", Type: "string", Description: spec["distinguisherMethod"]},
		registry.AgeColumn(),
		{Name: "MissingPL", Type: "string", Description: "references a broken or non-existent PriorityLevelConfiguration"},
	}
}

// Row shows the distinguisher method as "<none>" when unset, and MissingPL as the
// status of the Dangling condition, "?" without one.
func (*flowSchemas) Row(obj runtime.Object, now time.Time) []interface{} {
	fs := obj.(*flowcontrolv1.FlowSchema)
	method := "<none>"
	if dm := fs.Spec.DistinguisherMethod; dm != nil {
		method = string(dm.Type)
	}
	missing := "?"
	for _, c := range fs.Status.Conditions {
		if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
			missing = string(c.Status)
			break
		}
	}
	return []interface{}{
		fs.Name,
		fs.Spec.PriorityLevelConfiguration.Name,
		int64(fs.Spec.MatchingPrecedence),
		method,
		registry.Since(fs.CreationTimestamp.Time, now),
		missing,
	}
}

// priorityLevels is the PriorityLevelConfiguration strategy.
type priorityLevels struct{}

func (*priorityLevels) Info() registry.Info {
	return info("PriorityLevelConfiguration", "prioritylevelconfigurations")
}
func (*priorityLevels) New() runtime.Object { return &flowcontrolv1.PriorityLevelConfiguration{} }
func (*priorityLevels) NewList() runtime.Object {
	return &flowcontrolv1.PriorityLevelConfigurationList{}
}

func (*priorityLevels) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops the status and starts the generation.
func (*priorityLevels) PrepareForCreate(obj runtime.Object) {
	pl := obj.(*flowcontrolv1.PriorityLevelConfiguration)
	pl.Status = flowcontrolv1.PriorityLevelConfigurationStatus{}
	pl.Generation = 1
}

// PrepareForUpdate keeps the status and bumps the generation when the spec changes.
func (*priorityLevels) PrepareForUpdate(obj, old runtime.Object) {
	pl, o := obj.(*flowcontrolv1.PriorityLevelConfiguration), old.(*flowcontrolv1.PriorityLevelConfiguration)
	if !equality.Semantic.DeepEqual(pl.Spec, o.Spec) {
		pl.Generation = o.Generation + 1
	}
	pl.Status = o.Status
}

func (*priorityLevels) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec = old.(*flowcontrolv1.PriorityLevelConfiguration).Spec
}

// Default fills a limited level's unset nominalConcurrencyShares (30) and
// lendablePercent (0), and its queuing's zero queues (64), handSize (8) and
// queueLengthLimit (50); and an exempt level's unset nominalConcurrencyShares and
// lendablePercent with 0. In v1 an explicit 0 shares is kept. Members the type does not
// select are defaulted too, as upstream does, before validation refuses them.
func (*priorityLevels) Default(obj runtime.Object) {
	spec := &obj.(*flowcontrolv1.PriorityLevelConfiguration).Spec
	if l := spec.Limited; l != nil {
		if l.NominalConcurrencyShares == nil {
			l.NominalConcurrencyShares = ptr.To(defaultNominalConcurrencyShares)
		}
		if l.LendablePercent == nil {
			l.LendablePercent = ptr.To[int32](0)
		}
		if q := l.LimitResponse.Queuing; q != nil {
			if q.HandSize == 0 {
				q.HandSize = defaultHandSize
			}
			if q.Queues == 0 {
				q.Queues = defaultQueues
			}
			if q.QueueLengthLimit == 0 {
				q.QueueLengthLimit = defaultQueueLengthLimit
			}
		}
	}
	if e := spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = ptr.To[int32](0)
		}
		if e.LendablePercent == nil {
			e.LendablePercent = ptr.To[int32](0)
		}
	}
}

func (*priorityLevels) Validate(obj runtime.Object) field.ErrorList {
	return validatePriorityLevel(obj.(*flowcontrolv1.PriorityLevelConfiguration), nil)
}

// ValidateUpdate checks the object as on create, except that the declarative checks
// pass over what has not changed.
func (*priorityLevels) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validatePriorityLevel(obj.(*flowcontrolv1.PriorityLevelConfiguration), old.(*flowcontrolv1.PriorityLevelConfiguration))
}

func (*priorityLevels) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validatePriorityLevelStatus(&obj.(*flowcontrolv1.PriorityLevelConfiguration).Status)
}

func (*priorityLevels) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}

func (*priorityLevels) Columns() []metav1.TableColumnDefinition {
	queuing := flowcontrolv1.QueuingConfiguration{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Type", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"]},
		{Name: "NominalConcurrencyShares", Type: "string", Description: flowcontrolv1.LimitedPriorityLevelConfiguration{}.SwaggerDoc()["nominalConcurrencyShares"]},
		{Name: "Queues", Type: "string", Description: queuing["queues"]},
		{Name: "HandSize", Type: "string", Description: queuing["handSize"]},
		{Name: "QueueLengthLimit", Type: "string", Description: queuing["queueLengthLimit"]},
		registry.AgeColumn(),
	}
}

// Row shows the shares of a limited level only, and the queuing numbers only when it
// queues; the other cells read "<none>".
func (*priorityLevels) Row(obj runtime.Object, now time.Time) []interface{} {
	pl := obj.(*flowcontrolv1.PriorityLevelConfiguration)
	var shares, queues, handSize, queueLength interface{} = "<none>", "<none>", "<none>", "<none>"
	if l := pl.Spec.Limited; l != nil {
		shares = int64(ptr.Deref(l.NominalConcurrencyShares, 0))
		if q := l.LimitResponse.Queuing; q != nil {
			queues, handSize, queueLength = int64(q.Queues), int64(q.HandSize), int64(q.QueueLengthLimit)
		}
	}
	return []interface{}{
		pl.Name,
		string(pl.Spec.Type),
		shares,
		queues,
		handSize,
		queueLength,
		registry.Since(pl.CreationTimestamp.Time, now),
	}
}
