package admission

import (
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/openapi"
)

// pathsSeen is a client whose first listing of the server's OpenAPI v3 documents can
// be waited for. The mutating policies' plugin learns the types of its apply
// configurations by polling that list every 5 s from the moment it starts; podium
// makes the plugin on first use, so that use must wait for the first poll, or it would
// find no type for any kind.
type pathsSeen struct {
	kubernetes.Interface
	once sync.Once
	seen chan struct{}
}

func newPathsSeen(c kubernetes.Interface) *pathsSeen {
	return &pathsSeen{Interface: c, seen: make(chan struct{})}
}

func (c *pathsSeen) Discovery() discovery.DiscoveryInterfaces {
	return seenDiscovery{DiscoveryInterfaces: c.Interface.Discovery(), c: c}
}

// wait returns once the documents have been listed, or after at most d.
func (c *pathsSeen) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.seen:
	case <-t.C:
	}
}

type seenDiscovery struct {
	discovery.DiscoveryInterfaces
	c *pathsSeen
}

func (d seenDiscovery) OpenAPIV3() openapi.Client {
	return seenOpenAPI{Client: d.DiscoveryInterfaces.OpenAPIV3(), c: d.c}
}

type seenOpenAPI struct {
	openapi.Client
	c *pathsSeen
}

// settle is how long the plugin is given to record a listing it got.
const settle = 20 * time.Millisecond

func (o seenOpenAPI) Paths() (map[string]openapi.GroupVersion, error) {
	paths, err := o.Client.Paths()
	if err == nil {
		o.c.once.Do(func() { time.AfterFunc(settle, func() { close(o.c.seen) }) })
	}
	return paths, err
}
