// Command incluster is the test image of an in-cluster client: a client-go program that
// lists the pods of its namespace with its pod's service account, found by
// rest.InClusterConfig. It prints the pods' names and "done", or why it could not, then
// sleeps, so that the test can read its log (it exits 1 without a configuration).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func main() {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		fmt.Println("in-cluster config:", err)
		os.Exit(1)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Println("client:", err)
		os.Exit(1)
	}
	ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		fmt.Println("namespace:", err)
		os.Exit(1)
	}
	pods, err := cs.CoreV1().Pods(string(ns)).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		fmt.Println("listing pods:", err)
		sleep()
	}
	for _, p := range pods.Items {
		fmt.Println("pod", p.Name)
	}
	fmt.Println("done")
	sleep()
}

// sleep keeps the pod running, for its log to be read.
func sleep() {
	for {
		time.Sleep(time.Hour)
	}
}
