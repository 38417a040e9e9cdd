package kubernetesservice

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Name and Namespace of the Service, its Endpoints and its EndpointSlice.
const (
	Name      = "kubernetes"
	Namespace = metav1.NamespaceDefault
	portName  = "https"
)

// Config says where the API server is.
type Config struct {
	ClusterIP string // the Service's cluster IP, the first of the service range
	Address   string // the API server's address as seen from pods and nodes; "" for none
	Port      int32  // the API server's port
}

// Controller keeps the three objects as Config says.
type Controller struct {
	client kubernetes.Interface
	cfg    Config
	loop   *reconcile.Loop
}

// New returns the controller; factory must hold only namespace default, and its
// informers are started by the caller.
func New(client kubernetes.Interface, cfg Config, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, cfg: cfg}
	c.loop = reconcile.New("kubernetes-service", c.sync, log)
	h := c.loop.Handler(func(obj any) string {
		if m, ok := obj.(metav1.Object); ok && m.GetName() == Name {
			return Name
		}
		return ""
	})
	if _, err := factory.Core().V1().Services().Informer().AddEventHandler(h); err != nil {
		return nil, err
	}
	if _, err := factory.Core().V1().Endpoints().Informer().AddEventHandler(h); err != nil {
		return nil, err
	}
	if _, err := factory.Discovery().V1().EndpointSlices().Informer().AddEventHandler(h); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends; it checks the objects at once and then on every change.
func (c *Controller) Run(ctx context.Context) {
	c.loop.Add(Name)
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, _ string) (time.Duration, error) {
	if err := c.syncService(ctx); err != nil {
		return 0, err
	}
	if c.cfg.Address == "" {
		return 0, nil // nothing valid to point at; the server said so at start
	}
	if err := c.syncEndpoints(ctx); err != nil {
		return 0, err
	}
	return 0, c.syncSlice(ctx)
}

func (c *Controller) labels() map[string]string {
	return map[string]string{"component": "apiserver", "provider": "kubernetes"}
}

func (c *Controller) syncService(ctx context.Context) error {
	want := corev1.ServiceSpec{
		Type:            corev1.ServiceTypeClusterIP,
		ClusterIP:       c.cfg.ClusterIP,
		ClusterIPs:      []string{c.cfg.ClusterIP},
		SessionAffinity: corev1.ServiceAffinityNone,
		Ports: []corev1.ServicePort{{Name: portName, Protocol: corev1.ProtocolTCP, Port: 443,
			TargetPort: intstr.FromInt32(c.cfg.Port)}},
	}
	svcs := c.client.CoreV1().Services(Namespace)
	cur, err := svcs.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: c.labels()}, Spec: want}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if cur.Spec.ClusterIP != want.ClusterIP {
		// The cluster IP cannot change in place: make the Service anew.
		if err := svcs.Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: c.labels()}, Spec: want}, metav1.CreateOptions{})
		return err
	}
	if reflect.DeepEqual(cur.Spec.Ports, want.Ports) && cur.Spec.Type == want.Type && cur.Spec.Selector == nil &&
		reflect.DeepEqual(cur.Labels, c.labels()) {
		return nil
	}
	next := cur.DeepCopy()
	next.Labels = c.labels()
	next.Spec.Type, next.Spec.Selector = want.Type, nil
	next.Spec.Ports = want.Ports
	_, err = svcs.Update(ctx, next, metav1.UpdateOptions{})
	return err
}

func (c *Controller) syncEndpoints(ctx context.Context) error {
	subsets := []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: c.cfg.Address}},
		Ports:     []corev1.EndpointPort{{Name: portName, Port: c.cfg.Port, Protocol: corev1.ProtocolTCP}},
	}}
	labels := map[string]string{discoveryv1.LabelSkipMirror: "true"}
	eps := c.client.CoreV1().Endpoints(Namespace)
	cur, err := eps.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = eps.Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels}, Subsets: subsets}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if reflect.DeepEqual(cur.Subsets, subsets) && reflect.DeepEqual(cur.Labels, labels) {
		return nil
	}
	next := cur.DeepCopy()
	next.Subsets, next.Labels = subsets, labels
	_, err = eps.Update(ctx, next, metav1.UpdateOptions{})
	return err
}

func (c *Controller) syncSlice(ctx context.Context) error {
	want := discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: Name, Labels: map[string]string{discoveryv1.LabelServiceName: Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{c.cfg.Address}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(c.cfg.Port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	slices := c.client.DiscoveryV1().EndpointSlices(Namespace)
	cur, err := slices.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = slices.Create(ctx, &want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if cur.AddressType == want.AddressType && reflect.DeepEqual(cur.Endpoints, want.Endpoints) &&
		reflect.DeepEqual(cur.Ports, want.Ports) && reflect.DeepEqual(cur.Labels, want.Labels) {
		return nil
	}
	if cur.AddressType != want.AddressType {
		if err := slices.Delete(ctx, Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		_, err = slices.Create(ctx, &want, metav1.CreateOptions{})
		return err
	}
	next := cur.DeepCopy()
	next.Labels, next.Endpoints, next.Ports = want.Labels, want.Endpoints, want.Ports
	_, err = slices.Update(ctx, next, metav1.UpdateOptions{})
	return err
}
