// Package flowcontrol provides the strategies for flowcontrol.apiserver.k8s.io/v1
// FlowSchemas and PriorityLevelConfigurations, the API Priority and Fairness
// configuration: DNS subdomain names, upstream's v1 defaults (matching precedence 1000;
// 30 nominal shares, 64 queues, hand size 8 and 50 queued requests for a limited level),
// the checks of rules, subjects and queuing (shuffle-sharding entropy included), the
// fixed specs of the mandatory "exempt" and "catch-all" objects, the status subresource
// with generations bumped on spec changes, and the Table columns kubectl shows.
//
// The checks upstream has moved to declarative validation (a priority level's type and
// the members it selects) report as upstream's API server reports them with its beta
// declarative rules enabled: after the handwritten errors, with no detail.
package flowcontrol
