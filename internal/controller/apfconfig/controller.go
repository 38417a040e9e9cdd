package apfconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	flowcontrolapply "k8s.io/client-go/applyconfigurations/flowcontrol/v1"
	"k8s.io/client-go/informers"
	flowcontrolclient "k8s.io/client-go/kubernetes/typed/flowcontrol/v1"
	flowcontrollisters "k8s.io/client-go/listers/flowcontrol/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
)

// The field managers upstream's ensurer and config consumer write as.
const (
	ensurerManager  = "api-priority-and-fairness-config-producer-v1"
	consumerManager = "api-priority-and-fairness-config-consumer-v1"
)

// resync is how often the configuration is checked besides on changes, as upstream's
// ensurer does.
const resync = time.Minute

// Controller keeps the configuration.
type Controller struct {
	client    flowcontrolclient.FlowcontrolV1Interface
	schemas   flowcontrollisters.FlowSchemaLister
	levels    flowcontrollisters.PriorityLevelConfigurationLister
	synced    []cache.InformerSynced
	loop      *reconcile.Loop
	log       *slog.Logger
	mandatory map[string]bool // names of mandatory objects, of either kind
}

// New returns the controller; the caller starts the informer factory.
func New(client flowcontrolclient.FlowcontrolV1Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	fs := factory.Flowcontrol().V1().FlowSchemas()
	pl := factory.Flowcontrol().V1().PriorityLevelConfigurations()
	c := &Controller{client: client, schemas: fs.Lister(), levels: pl.Lister(), log: log,
		synced:    []cache.InformerSynced{fs.Informer().HasSynced, pl.Informer().HasSynced},
		mandatory: map[string]bool{}}
	for _, o := range bootstrap.MandatoryFlowSchemas {
		c.mandatory["fs/"+o.Name] = true
	}
	for _, o := range bootstrap.MandatoryPriorityLevelConfigurations {
		c.mandatory["pl/"+o.Name] = true
	}
	c.loop = reconcile.New("apf-configuration", c.sync, log)
	h := c.loop.Handler(func(any) string { return "all" })
	_, _ = fs.Informer().AddEventHandler(h)
	_, _ = pl.Informer().AddEventHandler(h)
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	c.loop.Add("all")
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, _ string) (time.Duration, error) {
	var errs []error
	levels := kind[*flowcontrolv1.PriorityLevelConfiguration]{
		prefix: "pl/",
		get:    c.levels.Get,
		list:   c.levels.List,
		create: func(o *flowcontrolv1.PriorityLevelConfiguration) error {
			_, err := c.client.PriorityLevelConfigurations().Create(ctx, o, metav1.CreateOptions{FieldManager: ensurerManager})
			return err
		},
		update: func(o *flowcontrolv1.PriorityLevelConfiguration) error {
			_, err := c.client.PriorityLevelConfigurations().Update(ctx, o, metav1.UpdateOptions{FieldManager: ensurerManager})
			return err
		},
		delete: func(name string) error {
			return c.client.PriorityLevelConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
		},
		sameSpec: func(a, b *flowcontrolv1.PriorityLevelConfiguration) bool {
			return apiequality.Semantic.DeepEqual(a.Spec, b.Spec)
		},
		setSpec: func(into, from *flowcontrolv1.PriorityLevelConfiguration) { into.Spec = *from.Spec.DeepCopy() },
	}
	schemas := kind[*flowcontrolv1.FlowSchema]{
		prefix: "fs/",
		get:    c.schemas.Get,
		list:   c.schemas.List,
		create: func(o *flowcontrolv1.FlowSchema) error {
			_, err := c.client.FlowSchemas().Create(ctx, o, metav1.CreateOptions{FieldManager: ensurerManager})
			return err
		},
		update: func(o *flowcontrolv1.FlowSchema) error {
			_, err := c.client.FlowSchemas().Update(ctx, o, metav1.UpdateOptions{FieldManager: ensurerManager})
			return err
		},
		delete:   func(name string) error { return c.client.FlowSchemas().Delete(ctx, name, metav1.DeleteOptions{}) },
		sameSpec: func(a, b *flowcontrolv1.FlowSchema) bool { return apiequality.Semantic.DeepEqual(a.Spec, b.Spec) },
		setSpec:  func(into, from *flowcontrolv1.FlowSchema) { into.Spec = *from.Spec.DeepCopy() },
	}
	// Suggested first, then mandatory, as upstream.
	errs = append(errs, levels.ensure(bootstrap.SuggestedPriorityLevelConfigurations, c.mandatory)...)
	errs = append(errs, schemas.ensure(bootstrap.SuggestedFlowSchemas, c.mandatory)...)
	errs = append(errs, levels.ensure(bootstrap.MandatoryPriorityLevelConfigurations, c.mandatory)...)
	errs = append(errs, schemas.ensure(bootstrap.MandatoryFlowSchemas, c.mandatory)...)
	errs = append(errs, c.syncDangling(ctx)...)
	errs = append(errs, levels.removeUnwanted(append(bootstrap.SuggestedPriorityLevelConfigurations, bootstrap.MandatoryPriorityLevelConfigurations...))...)
	errs = append(errs, schemas.removeUnwanted(append(bootstrap.SuggestedFlowSchemas, bootstrap.MandatoryFlowSchemas...))...)
	return resync, errors.Join(errs...)
}

// kind is how the ensurer reads and writes one of the two kinds.
type kind[T interface {
	metav1.Object
	comparable
}] struct {
	prefix   string
	get      func(name string) (T, error)
	list     func(labels.Selector) ([]T, error)
	create   func(T) error
	update   func(T) error
	delete   func(name string) error
	sameSpec func(a, b T) bool
	setSpec  func(into, from T)
}

// ensure creates each of want that is missing and revises the existing ones: a
// mandatory object always gets its spec back, a suggested one while its annotation
// says auto-update (or, without the annotation, while it is at generation 1).
func (k kind[T]) ensure(want []T, mandatory map[string]bool) []error {
	var errs []error
	for _, w := range want {
		cur, err := k.get(w.GetName())
		if apierrors.IsNotFound(err) {
			if err := k.create(copyOf(w)); err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, fmt.Errorf("creating %s: %w", w.GetName(), err))
			}
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		auto := mandatory[k.prefix+w.GetName()] || autoUpdate(cur)
		value, ok := cur.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]
		annotate := !ok || value != strconv.FormatBool(auto)
		respec := auto && !k.sameSpec(w, cur)
		if !annotate && !respec {
			continue
		}
		next := copyOf(cur)
		if respec {
			k.setSpec(next, w)
		}
		ann := map[string]string{}
		for key, v := range next.GetAnnotations() {
			ann[key] = v
		}
		ann[flowcontrolv1.AutoUpdateAnnotationKey] = strconv.FormatBool(auto)
		next.SetAnnotations(ann)
		if err := k.update(next); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("updating %s: %w", w.GetName(), err))
		}
	}
	return errs
}

// removeUnwanted deletes the objects that are neither mandatory nor suggested and that
// the ensurer may update (those an admin made carry no annotation).
func (k kind[T]) removeUnwanted(wanted []T) []error {
	names := map[string]bool{}
	for _, w := range wanted {
		names[w.GetName()] = true
	}
	all, err := k.list(labels.Everything())
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, o := range all {
		if v, ok := o.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]; names[o.GetName()] || !ok || v != "true" {
			continue
		}
		if err := k.delete(o.GetName()); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errs
}

// autoUpdate is upstream's reading of an object's annotation.
func autoUpdate(o metav1.Object) bool {
	if v, err := strconv.ParseBool(o.GetAnnotations()[flowcontrolv1.AutoUpdateAnnotationKey]); err == nil {
		return v
	}
	return o.GetGeneration() == 1
}

func copyOf[T metav1.Object](o T) T {
	return any(o).(runtime.Object).DeepCopyObject().(T)
}

// syncDangling sets each FlowSchema's Dangling condition: whether the priority level it
// names exists, with upstream's reasons and messages.
func (c *Controller) syncDangling(ctx context.Context) []error {
	all, err := c.schemas.List(labels.Everything())
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, fs := range all {
		pl := fs.Spec.PriorityLevelConfiguration.Name
		status, reason := flowcontrolv1.ConditionFalse, "Found"
		message := fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q and it exists", pl)
		if _, err := c.levels.Get(pl); apierrors.IsNotFound(err) {
			status, reason = flowcontrolv1.ConditionTrue, "NotFound"
			message = fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q but there is no such object", pl)
		}
		current := false
		for _, cond := range fs.Status.Conditions {
			if cond.Type == flowcontrolv1.FlowSchemaConditionDangling {
				current = cond.Status == status && cond.Reason == reason && cond.Message == message
			}
		}
		if current {
			continue
		}
		apply := flowcontrolapply.FlowSchema(fs.Name).WithStatus(flowcontrolapply.FlowSchemaStatus().WithConditions(
			flowcontrolapply.FlowSchemaCondition().WithType(flowcontrolv1.FlowSchemaConditionDangling).WithStatus(status).
				WithLastTransitionTime(metav1.Now()).WithReason(reason).WithMessage(message)))
		_, err := c.client.FlowSchemas().ApplyStatus(ctx, apply, metav1.ApplyOptions{FieldManager: consumerManager, Force: true})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("the Dangling condition of %s: %w", fs.Name, err))
		}
	}
	return errs
}
