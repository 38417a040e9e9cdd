package builtinservice

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

// Service describes one Service podium itself serves: its cluster IP and ports, and the
// one address its Endpoints and EndpointSlice point at.
type Service struct {
	Namespace, Name string
	Labels          map[string]string
	ClusterIP       string
	// Address is where the Service's traffic goes, as seen from pods and nodes; "" for
	// nowhere (the Service is kept, its endpoints are not made).
	Address string
	Ports   []Port
	// Servers, when set, is every live server (this one included), each serving the
	// Service as this one does: the endpoints list all of their addresses.
	Servers Servers
}

// Servers is the set of live servers, as serverlease.Set keeps it.
type Servers interface {
	Addresses() []string
	Changed() <-chan struct{}
}

// addresses returns where the endpoints point, sorted.
func (s Service) addresses() []string {
	if s.Servers == nil {
		return []string{s.Address}
	}
	return s.Servers.Addresses()
}

// Port is one port of a Service and the port it reaches at Address.
type Port struct {
	Name       string
	Protocol   corev1.Protocol
	Port       int32
	TargetPort int32
}

// Kubernetes is Service default/kubernetes of an API server at address:port, on the
// first cluster IP of the service range.
func Kubernetes(clusterIP, address string, port int32) Service {
	return Service{Namespace: metav1.NamespaceDefault, Name: "kubernetes", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"},
		ClusterIP: clusterIP, Address: address, Ports: []Port{{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: port}}}
}

// ClusterDNS is Service kube-system/kube-dns of the cluster DNS server at
// address:port, as the DNS add-on of upstream clusters names it.
func ClusterDNS(clusterIP, address string, port int32) Service {
	return Service{Namespace: metav1.NamespaceSystem, Name: "kube-dns",
		Labels:    map[string]string{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
		ClusterIP: clusterIP, Address: address, Ports: []Port{
			{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: port},
			{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53, TargetPort: port},
		}}
}

// Controller keeps the Service, its Endpoints and its EndpointSlice as Service says.
type Controller struct {
	client kubernetes.Interface
	svc    Service
	loop   *reconcile.Loop
}

// New returns the controller of svc; factory must hold only svc's namespace (and may
// hold only its name), and its informers are started by the caller.
func New(client kubernetes.Interface, svc Service, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, svc: svc}
	c.loop = reconcile.New("builtin-service-"+svc.Name, c.sync, log)
	h := c.loop.Handler(func(obj any) string {
		if m, ok := obj.(metav1.Object); ok && m.GetName() == svc.Name {
			return svc.Name
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
	c.loop.Add(c.svc.Name)
	if c.svc.Servers != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-c.svc.Servers.Changed():
					c.loop.Add(c.svc.Name)
				}
			}
		}()
	}
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, _ string) (time.Duration, error) {
	if err := c.syncService(ctx); err != nil {
		return 0, err
	}
	if c.svc.Address == "" {
		return 0, nil // nothing valid to point at; the server said so at start
	}
	if err := c.syncEndpoints(ctx); err != nil {
		return 0, err
	}
	return 0, c.syncSlice(ctx)
}

func (c *Controller) syncService(ctx context.Context) error {
	want := corev1.ServiceSpec{
		Type:            corev1.ServiceTypeClusterIP,
		ClusterIP:       c.svc.ClusterIP,
		ClusterIPs:      []string{c.svc.ClusterIP},
		SessionAffinity: corev1.ServiceAffinityNone,
	}
	for _, p := range c.svc.Ports {
		want.Ports = append(want.Ports, corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port, TargetPort: intstr.FromInt32(p.TargetPort)})
	}
	svcs := c.client.CoreV1().Services(c.svc.Namespace)
	Name := c.svc.Name
	cur, err := svcs.Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: c.svc.Labels}, Spec: want}, metav1.CreateOptions{})
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
		_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: c.svc.Labels}, Spec: want}, metav1.CreateOptions{})
		return err
	}
	if reflect.DeepEqual(cur.Spec.Ports, want.Ports) && cur.Spec.Type == want.Type && cur.Spec.Selector == nil &&
		reflect.DeepEqual(cur.Labels, c.svc.Labels) {
		return nil
	}
	next := cur.DeepCopy()
	next.Labels = c.svc.Labels
	next.Spec.Type, next.Spec.Selector = want.Type, nil
	next.Spec.Ports = want.Ports
	_, err = svcs.Update(ctx, next, metav1.UpdateOptions{})
	return err
}

func (c *Controller) syncEndpoints(ctx context.Context) error {
	var subset corev1.EndpointSubset
	for _, a := range c.svc.addresses() {
		subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: a})
	}
	for _, p := range c.svc.Ports {
		subset.Ports = append(subset.Ports, corev1.EndpointPort{Name: p.Name, Port: p.TargetPort, Protocol: p.Protocol})
	}
	subsets := []corev1.EndpointSubset{subset}
	labels := map[string]string{discoveryv1.LabelSkipMirror: "true"}
	eps := c.client.CoreV1().Endpoints(c.svc.Namespace)
	Name := c.svc.Name
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
	Name := c.svc.Name
	want := discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: Name, Labels: map[string]string{discoveryv1.LabelServiceName: Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, a := range c.svc.addresses() {
		want.Endpoints = append(want.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	for _, p := range c.svc.Ports {
		want.Ports = append(want.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(p.TargetPort), Protocol: ptr.To(p.Protocol)})
	}
	slices := c.client.DiscoveryV1().EndpointSlices(c.svc.Namespace)
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
