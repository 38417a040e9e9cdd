// Package servicelb provides the load balancer of a cluster without a cloud, as k3s's
// service load balancer: a LoadBalancer Service (of no loadBalancerClass) gets the
// addresses of the cluster's ready nodes as its status.loadBalancer.ingress, and every
// node's service dataplane serves the Service's ports on them.
package servicelb
