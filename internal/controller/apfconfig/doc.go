// Package apfconfig keeps the API priority and fairness configuration objects as
// kube-apiserver does, though podium does not queue requests by them: the mandatory
// FlowSchemas and PriorityLevelConfigurations (exempt, catch-all) always as upstream
// defines them, the suggested ones created when missing and kept current while their
// apf.kubernetes.io/autoupdate-spec annotation says so, and each FlowSchema's Dangling
// condition. Extension API servers built on k8s.io/apiserver read them and are not
// ready until they can.
package apfconfig
