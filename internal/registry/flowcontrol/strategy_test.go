package flowcontrol

import (
	"reflect"
	"strings"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

// newFlowSchema returns a valid schema sending one user's pod reads to "workload-low".
func newFlowSchema(name string) *flowcontrolv1.FlowSchema {
	return &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"},
			MatchingPrecedence:         500,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "alice"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}, Namespaces: []string{"default"},
				}},
			}},
		},
	}
}

// newLimited returns a valid queuing priority level.
func newLimited(name string) *flowcontrolv1.PriorityLevelConfiguration {
	return &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}},
			},
		},
	}
}

func TestInfo(t *testing.T) {
	tests := []struct {
		name     string
		strategy registry.Strategy
		want     registry.Info
	}{
		{
			name:     "flow schemas",
			strategy: NewFlowSchemas(),
			want: registry.Info{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Kind: "FlowSchema", ListKind: "FlowSchemaList",
				Resource: "flowschemas", Singular: "flowschema", Subresources: []string{"status"}},
		},
		{
			name:     "priority levels",
			strategy: NewPriorityLevelConfigurations(),
			want: registry.Info{Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Kind: "PriorityLevelConfiguration",
				ListKind: "PriorityLevelConfigurationList", Resource: "prioritylevelconfigurations",
				Singular: "prioritylevelconfiguration", Subresources: []string{"status"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.strategy.Info(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Info = %+v, want %+v", got, tt.want)
			}
		})
	}
	if msgs := NewFlowSchemas().ValidateName("Not_DNS", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a name that is no DNS subdomain")
	}
	if got, want := NewPriorityLevelConfigurations().Fields(newLimited("x")), (fields.Set{"metadata.name": "x"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestFlowSchemaDefault(t *testing.T) {
	s := NewFlowSchemas()
	fs := newFlowSchema("a")
	fs.Spec.MatchingPrecedence = 0
	s.Default(fs)
	if fs.Spec.MatchingPrecedence != 1000 {
		t.Errorf("matchingPrecedence %d, want 1000", fs.Spec.MatchingPrecedence)
	}
	fs.Spec.MatchingPrecedence = 7
	s.Default(fs)
	if fs.Spec.MatchingPrecedence != 7 {
		t.Errorf("matchingPrecedence %d, want 7 kept", fs.Spec.MatchingPrecedence)
	}
}

func TestPriorityLevelDefault(t *testing.T) {
	tests := []struct {
		name string
		spec flowcontrolv1.PriorityLevelConfigurationSpec
		want flowcontrolv1.PriorityLevelConfigurationSpec
	}{
		{
			name: "limited, queuing",
			spec: newLimited("x").Spec,
			want: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					NominalConcurrencyShares: ptr.To[int32](30),
					LendablePercent:          ptr.To[int32](0),
					LimitResponse: flowcontrolv1.LimitResponse{
						Type:    flowcontrolv1.LimitResponseTypeQueue,
						Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 8, QueueLengthLimit: 50},
					},
				},
			},
		},
		{
			name: "limited, zero shares kept, no queuing added",
			spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					NominalConcurrencyShares: ptr.To[int32](0),
					LendablePercent:          ptr.To[int32](20),
					LimitResponse:            flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject},
				},
			},
			want: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					NominalConcurrencyShares: ptr.To[int32](0),
					LendablePercent:          ptr.To[int32](20),
					LimitResponse:            flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject},
				},
			},
		},
		{
			name: "queuing numbers set",
			spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					NominalConcurrencyShares: ptr.To[int32](10),
					LendablePercent:          ptr.To[int32](0),
					LimitResponse: flowcontrolv1.LimitResponse{
						Type:    flowcontrolv1.LimitResponseTypeQueue,
						Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 16, HandSize: 4, QueueLengthLimit: 10},
					},
				},
			},
			want: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					NominalConcurrencyShares: ptr.To[int32](10),
					LendablePercent:          ptr.To[int32](0),
					LimitResponse: flowcontrolv1.LimitResponse{
						Type:    flowcontrolv1.LimitResponseTypeQueue,
						Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 16, HandSize: 4, QueueLengthLimit: 10},
					},
				},
			},
		},
		{
			name: "exempt",
			spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt, Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{}},
			want: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type:   flowcontrolv1.PriorityLevelEnablementExempt,
				Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](0), LendablePercent: ptr.To[int32](0)},
			},
		},
		{
			name: "exempt without member",
			spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt},
			want: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := &flowcontrolv1.PriorityLevelConfiguration{Spec: tt.spec}
			NewPriorityLevelConfigurations().Default(pl)
			if !reflect.DeepEqual(pl.Spec, tt.want) {
				t.Errorf("spec = %+v, want %+v", pl.Spec, tt.want)
			}
		})
	}
}

func TestValidateFlowSchema(t *testing.T) {
	tests := []struct {
		name   string
		change func(*flowcontrolv1.FlowSchema)
		want   []fieldError
	}{
		{name: "valid", change: func(*flowcontrolv1.FlowSchema) {}},
		{name: "defaulted precedence", change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 0 }},
		{
			name:   "precedence too high",
			change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.matchingPrecedence"}},
		},
		{
			name:   "precedence 1 is exempt's",
			change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.matchingPrecedence"}},
		},
		{
			name:   "negative precedence",
			change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = -3 },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.matchingPrecedence"}},
		},
		{
			name:   "unknown distinguisher",
			change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.DistinguisherMethod.Type = "ByColour" },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.distinguisherMethod.type"}},
		},
		{
			name:   "no priority level",
			change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "" },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.priorityLevelConfiguration.name"}},
		},
		{
			name:   "bad priority level name",
			change: func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "Low_Level" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.priorityLevelConfiguration.name"}},
		},
		{
			name: "no subjects, no rules",
			change: func(fs *flowcontrolv1.FlowSchema) {
				fs.Spec.Rules[0] = flowcontrolv1.PolicyRulesWithSubjects{}
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.rules[0].subjects"}, {field.ErrorTypeRequired, "spec.rules[0]"}},
		},
		{
			name: "subjects",
			change: func(fs *flowcontrolv1.FlowSchema) {
				fs.Spec.Rules[0].Subjects = []flowcontrolv1.Subject{
					{Kind: "Robot"},
					{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{}, Group: &flowcontrolv1.GroupSubject{Name: "g"}},
					{Kind: flowcontrolv1.SubjectKindGroup},
					{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "*"}},
					{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "Bad_Name", Namespace: "Bad_NS"}},
					{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "*", Namespace: "kube-system"}},
				}
			},
			want: []fieldError{
				{field.ErrorTypeNotSupported, "spec.rules[0].subjects[0].kind"},
				{field.ErrorTypeRequired, "spec.rules[0].subjects[1].user.name"},
				{field.ErrorTypeForbidden, "spec.rules[0].subjects[1].group"},
				{field.ErrorTypeRequired, "spec.rules[0].subjects[2].group"},
				{field.ErrorTypeRequired, "spec.rules[0].subjects[3].serviceAccount.namespace"},
				{field.ErrorTypeInvalid, "spec.rules[0].subjects[4].serviceAccount.name"},
				{field.ErrorTypeInvalid, "spec.rules[0].subjects[4].serviceAccount.namespace"},
			},
		},
		{
			name: "resource rule",
			change: func(fs *flowcontrolv1.FlowSchema) {
				fs.Spec.Rules[0].ResourceRules = []flowcontrolv1.ResourcePolicyRule{
					{Verbs: []string{"*", "get"}, APIGroups: []string{"*", "apps"}, Resources: []string{"pods", "*"}, Namespaces: []string{"*", "default"}},
					{Verbs: []string{"get", "escalate"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"Bad_NS"}},
					{},
					{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"nodes"}, ClusterScope: true},
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.rules[0].resourceRules[0].verbs"},
				{field.ErrorTypeInvalid, "spec.rules[0].resourceRules[0].apiGroups"},
				{field.ErrorTypeInvalid, "spec.rules[0].resourceRules[0].resources"},
				{field.ErrorTypeInvalid, "spec.rules[0].resourceRules[0].namespaces"},
				{field.ErrorTypeNotSupported, "spec.rules[0].resourceRules[1].verbs"},
				{field.ErrorTypeInvalid, "spec.rules[0].resourceRules[1].namespaces[0]"},
				{field.ErrorTypeRequired, "spec.rules[0].resourceRules[2].verbs"},
				{field.ErrorTypeRequired, "spec.rules[0].resourceRules[2].apiGroups"},
				{field.ErrorTypeRequired, "spec.rules[0].resourceRules[2].resources"},
				{field.ErrorTypeRequired, "spec.rules[0].resourceRules[2].namespaces"},
			},
		},
		{
			name: "non-resource rules",
			change: func(fs *flowcontrolv1.FlowSchema) {
				fs.Spec.Rules[0].NonResourceRules = []flowcontrolv1.NonResourcePolicyRule{
					{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/", "/apis/*", "metrics", "/a b", "/a//b", "/a*", "/*/*", ""}},
					{Verbs: []string{"get"}, NonResourceURLs: []string{"*", "/healthz"}},
					{},
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[3]"},
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[4]"},
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[5]"},
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[6]"},
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[7]"},
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[8]"},
				{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[1].nonResourceURLs"},
				{field.ErrorTypeRequired, "spec.rules[0].nonResourceRules[2].verbs"},
				{field.ErrorTypeRequired, "spec.rules[0].nonResourceRules[2].nonResourceURLs"},
			},
		},
		{
			name: "status conditions",
			change: func(fs *flowcontrolv1.FlowSchema) {
				fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}, {}}
			},
			want: []fieldError{{field.ErrorTypeDuplicate, "status.conditions[1].type"}, {field.ErrorTypeRequired, "status.conditions[2].type"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewFlowSchemas()
			fs := newFlowSchema("a")
			tt.change(fs)
			s.Default(fs)
			if got := summarize(s.Validate(fs)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFlowSchemaMessages(t *testing.T) {
	fs := newFlowSchema("a")
	fs.Spec.MatchingPrecedence = 1
	fs.Spec.DistinguisherMethod.Type = "ByColour"
	fs.Spec.Rules[0].ResourceRules[0].Namespaces = []string{"Bad"}
	fs.Spec.Rules[0].NonResourceRules = []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/a*"}}}
	want := []string{
		"spec.matchingPrecedence: Invalid value: 1: only the schema named 'exempt' may have matchingPrecedence 1",
		`spec.distinguisherMethod.type: Unsupported value: {"Type":"ByColour"}: supported values: "ByNamespace", "ByUser"`,
		`spec.rules[0].resourceRules[0].namespaces[0]: Invalid value: "Bad": each member of this list must be '*' or a DNS-1123 label; `,
		`spec.rules[0].nonResourceRules[0].nonResourceURLs[0]: Invalid value: "/a*": wildcard can only do suffix matching`,
	}
	errs := NewFlowSchemas().Validate(fs)
	if len(errs) != len(want) {
		t.Fatalf("errors: %v", errs)
	}
	for i, e := range errs {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %d = %q, want it to start with %q", i, e.Error(), want[i])
		}
	}
}

func TestValidatePriorityLevel(t *testing.T) {
	tests := []struct {
		name   string
		plName string
		change func(*flowcontrolv1.PriorityLevelConfiguration)
		want   []fieldError
	}{
		{name: "valid", change: func(*flowcontrolv1.PriorityLevelConfiguration) {}},
		{
			name: "zero shares",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](0)
			},
		},
		{
			name: "limits",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				l := pl.Spec.Limited
				l.NominalConcurrencyShares = ptr.To[int32](-1)
				l.LendablePercent = ptr.To[int32](101)
				l.BorrowingLimitPercent = ptr.To[int32](-1)
				l.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: -1, HandSize: -1, QueueLengthLimit: -1}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.limited.nominalConcurrencyShares"},
				{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.queueLengthLimit"},
				{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.queues"},
				{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.handSize"},
				{field.ErrorTypeInvalid, "spec.limited.lendablePercent"},
				{field.ErrorTypeInvalid, "spec.limited.borrowingLimitPercent"},
			},
		},
		{
			name: "too many queues",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Queuing.Queues = 10*1000*1000 + 1
				pl.Spec.Limited.LimitResponse.Queuing.HandSize = 1
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.queues"}},
		},
		{
			name:   "hand larger than deck",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Queuing.Queues = 4 },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.handSize"}},
		},
		{
			name: "too much entropy",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Queuing.Queues = 512
				pl.Spec.Limited.LimitResponse.Queuing.HandSize = 64
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.handSize"}},
		},
		{
			name:   "unknown type",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "Unlimited" },
			// The declarative rules forbid the limited member besides.
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.type"}, {field.ErrorTypeForbidden, "spec.limited"}},
		},
		{
			name:   "no type",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "" },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec.limited"}, {field.ErrorTypeRequired, "spec.type"}},
		},
		{
			name: "limited without member, with exempt",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited = nil
				pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.exempt"}, {field.ErrorTypeRequired, "spec.limited"}},
		},
		{
			name: "exempt type, not named exempt",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Type = flowcontrolv1.PriorityLevelEnablementExempt
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.type"}, {field.ErrorTypeForbidden, "spec.limited"}},
		},
		{
			name:   "named exempt, limited",
			plName: "exempt",
			change: func(*flowcontrolv1.PriorityLevelConfiguration) {},
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.type"}, {field.ErrorTypeInvalid, "spec"}},
		},
		{
			name: "reject with queuing",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.limited.limitResponse.queuing"}},
		},
		{
			name: "queue without queuing",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Queuing = nil
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.limited.limitResponse.queuing"}},
		},
		{
			name: "no response type",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Type = ""
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.limited.limitResponse.queuing"}, {field.ErrorTypeRequired, "spec.limited.limitResponse.type"}},
		},
		{
			name: "unknown response type",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Spec.Limited.LimitResponse.Type = "Drop"
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.limited.limitResponse.type"}, {field.ErrorTypeForbidden, "spec.limited.limitResponse.queuing"}},
		},
		{
			name: "v1beta3 annotation",
			change: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
				pl.Annotations = map[string]string{"flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares": ""}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "metadata.annotations"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewPriorityLevelConfigurations()
			name := tt.plName
			if name == "" {
				name = "workload-low"
			}
			pl := newLimited(name)
			s.Default(pl)
			tt.change(pl)
			if got := summarize(s.Validate(pl)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDeclarativeMerge: the checks upstream runs declaratively report without detail
// after the handwritten errors, except on an update that leaves the spec as stored,
// where they do not run and the handwritten error stays.
func TestDeclarativeMerge(t *testing.T) {
	s := NewPriorityLevelConfigurations()
	pl := newLimited("workload-low")
	s.Default(pl)
	pl.Spec.Type = flowcontrolv1.PriorityLevelEnablementExempt
	pl.Spec.Limited.LimitResponse.Queuing.HandSize = 1000

	var got []string
	for _, e := range s.Validate(pl) {
		got = append(got, e.Error())
	}
	want := []string{
		`spec.type: Invalid value: "Exempt": must be 'Exempt' if and only if ` + "`name`" + ` is 'exempt'`,
		"spec.limited: Forbidden",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate = %q, want %q", got, want)
	}

	got = nil
	for _, e := range s.ValidateUpdate(pl, pl.DeepCopy()) {
		got = append(got, e.Error())
	}
	want[1] = "spec.limited: Forbidden: must be nil if the type is not Limited"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateUpdate = %q, want %q", got, want)
	}
}

// TestMandatory: the mandatory objects validate as upstream defines them and may not
// change, except the exempt level's exempt member.
func TestMandatory(t *testing.T) {
	fss, pls := NewFlowSchemas(), NewPriorityLevelConfigurations()
	for _, m := range bootstrap.MandatoryFlowSchemas {
		fs := m.DeepCopy()
		fss.PrepareForCreate(fs)
		fss.Default(fs)
		if errs := fss.Validate(fs); len(errs) != 0 {
			t.Errorf("FlowSchema %s: %v", fs.Name, errs)
		}
		fs.Spec.MatchingPrecedence = 9000
		if got, want := summarize(fss.Validate(fs)), []fieldError{{field.ErrorTypeInvalid, "spec"}}; !reflect.DeepEqual(got, want) {
			t.Errorf("changed FlowSchema %s: %v, want %v", fs.Name, got, want)
		}
	}
	for _, m := range bootstrap.MandatoryPriorityLevelConfigurations {
		pl := m.DeepCopy()
		pls.PrepareForCreate(pl)
		pls.Default(pl)
		if errs := pls.Validate(pl); len(errs) != 0 {
			t.Errorf("PriorityLevelConfiguration %s: %v", pl.Name, errs)
		}
	}

	exempt := bootstrap.MandatoryPriorityLevelConfigurationExempt.DeepCopy()
	exempt.Spec.Exempt.NominalConcurrencyShares = ptr.To[int32](10)
	exempt.Spec.Exempt.LendablePercent = ptr.To[int32](50)
	if errs := pls.Validate(exempt); len(errs) != 0 {
		t.Errorf("exempt with its own shares: %v", errs)
	}
	catchAll := bootstrap.MandatoryPriorityLevelConfigurationCatchAll.DeepCopy()
	catchAll.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](10)
	errs := pls.Validate(catchAll)
	if len(errs) != 1 || errs[0].Field != "spec" || errs[0].Detail != "spec of 'catch-all' must equal the fixed value" {
		t.Errorf("changed catch-all: %v", errs)
	}
}

func TestPriorityLevelMessages(t *testing.T) {
	pl := newLimited("workload-low")
	NewPriorityLevelConfigurations().Default(pl)
	pl.Spec.Limited.LimitResponse.Queuing.Queues = 512
	pl.Spec.Limited.LimitResponse.Queuing.HandSize = 64
	pl.Spec.Limited.LendablePercent = ptr.To[int32](-5)
	want := []string{
		"spec.limited.limitResponse.queuing.handSize: Invalid value: 64: required entropy bits of deckSize 512 and handSize 64 should not be greater than 60",
		"spec.limited.lendablePercent: Invalid value: -5: must be between 0 and 100, inclusive",
	}
	var got []string
	for _, e := range NewPriorityLevelConfigurations().Validate(pl) {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate = %q, want %q", got, want)
	}
}

// TestGeneration: create drops the status and starts the generation; an update keeps
// the status and bumps the generation only when the spec changes; a status update keeps
// the spec.
func TestGeneration(t *testing.T) {
	s := NewFlowSchemas()
	fs := newFlowSchema("a")
	fs.Generation = 9
	fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling", Status: "True"}}
	s.PrepareForCreate(fs)
	if fs.Generation != 1 || len(fs.Status.Conditions) != 0 {
		t.Errorf("after create: generation %d, status %+v", fs.Generation, fs.Status)
	}
	fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling", Status: "False"}}

	relabelled := fs.DeepCopy()
	relabelled.Labels = map[string]string{"a": "b"}
	relabelled.Status = flowcontrolv1.FlowSchemaStatus{}
	s.PrepareForUpdate(relabelled, fs)
	if relabelled.Generation != 1 || len(relabelled.Status.Conditions) != 1 {
		t.Errorf("after a metadata update: generation %d, status %+v", relabelled.Generation, relabelled.Status)
	}

	changed := fs.DeepCopy()
	changed.Spec.MatchingPrecedence = 600
	s.PrepareForUpdate(changed, fs)
	if changed.Generation != 2 || len(changed.Status.Conditions) != 1 {
		t.Errorf("after a spec update: generation %d, status %+v", changed.Generation, changed.Status)
	}

	status := fs.DeepCopy()
	status.Spec.MatchingPrecedence = 600
	status.Status.Conditions[0].Status = "True"
	s.PrepareForStatusUpdate(status, fs)
	if status.Spec.MatchingPrecedence != 500 || status.Status.Conditions[0].Status != "True" {
		t.Errorf("after a status update: spec %+v, status %+v", status.Spec, status.Status)
	}
	status.Status.Conditions = append(status.Status.Conditions, flowcontrolv1.FlowSchemaCondition{Type: "Dangling"})
	if got, want := summarize(s.ValidateStatusUpdate(status, fs)), []fieldError{{field.ErrorTypeDuplicate, "status.conditions[1].type"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate = %v, want %v", got, want)
	}

	p := NewPriorityLevelConfigurations()
	pl := newLimited("workload-low")
	pl.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{Type: "ConcurrencyShared"}}
	p.PrepareForCreate(pl)
	p.Default(pl)
	if pl.Generation != 1 || len(pl.Status.Conditions) != 0 {
		t.Errorf("level after create: generation %d, status %+v", pl.Generation, pl.Status)
	}
	pl.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{Type: "ConcurrencyShared", Status: "True"}}
	next := pl.DeepCopy()
	next.Status = flowcontrolv1.PriorityLevelConfigurationStatus{}
	next.Spec.Limited.NominalConcurrencyShares = ptr.To[int32](0)
	p.PrepareForUpdate(next, pl)
	if next.Generation != 2 || len(next.Status.Conditions) != 1 {
		t.Errorf("level after a spec update: generation %d, status %+v", next.Generation, next.Status)
	}
	st := pl.DeepCopy()
	st.Spec.Type = flowcontrolv1.PriorityLevelEnablementExempt
	st.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{}}
	p.PrepareForStatusUpdate(st, pl)
	if st.Spec.Type != flowcontrolv1.PriorityLevelEnablementLimited {
		t.Error("the status update wrote the spec")
	}
	if got, want := summarize(p.ValidateStatusUpdate(st, pl)), []fieldError{{field.ErrorTypeRequired, "status.conditions[0].type"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("level ValidateStatusUpdate = %v, want %v", got, want)
	}
}

func TestFlowSchemaTable(t *testing.T) {
	s := NewFlowSchemas()
	fs := newFlowSchema("a")
	fs.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	tests := []struct {
		name   string
		change func(*flowcontrolv1.FlowSchema)
		want   []interface{}
	}{
		{name: "no condition", change: func(*flowcontrolv1.FlowSchema) {}, want: []interface{}{"a", "workload-low", int64(500), "ByUser", "3h", "?"}},
		{
			name: "dangling",
			change: func(fs *flowcontrolv1.FlowSchema) {
				fs.Spec.DistinguisherMethod = nil
				fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Other", Status: "True"}, {Type: "Dangling", Status: "False"}}
			},
			want: []interface{}{"a", "workload-low", int64(500), "<none>", "3h", "False"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fs.DeepCopy()
			tt.change(fs)
			if got := s.Row(fs, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
	if got, want := columnNames(s.Columns()), []string{"Name", "PriorityLevel", "MatchingPrecedence", "DistinguisherMethod", "Age", "MissingPL"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
}

func TestPriorityLevelTable(t *testing.T) {
	s := NewPriorityLevelConfigurations()
	queuing := newLimited("workload-low")
	s.Default(queuing)
	queuing.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	rejecting := bootstrap.MandatoryPriorityLevelConfigurationCatchAll.DeepCopy()
	exempt := bootstrap.MandatoryPriorityLevelConfigurationExempt.DeepCopy()
	tests := []struct {
		name string
		pl   *flowcontrolv1.PriorityLevelConfiguration
		want []interface{}
	}{
		{name: "queuing", pl: queuing, want: []interface{}{"workload-low", "Limited", int64(30), int64(64), int64(8), int64(50), "90s"}},
		{name: "rejecting", pl: rejecting, want: []interface{}{"catch-all", "Limited", int64(5), "<none>", "<none>", "<none>", "<unknown>"}},
		{name: "exempt", pl: exempt, want: []interface{}{"exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "<unknown>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Row(tt.pl, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
	want := []string{"Name", "Type", "NominalConcurrencyShares", "Queues", "HandSize", "QueueLengthLimit", "Age"}
	if got := columnNames(s.Columns()); !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
}

// columnNames returns the columns' names, marking those without a description.
func columnNames(cols []metav1.TableColumnDefinition) []string {
	var names []string
	for _, c := range cols {
		if c.Description == "" {
			names = append(names, c.Name+" (undescribed)")
			continue
		}
		names = append(names, c.Name)
	}
	return names
}
