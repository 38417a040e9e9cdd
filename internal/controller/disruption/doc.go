// Package disruption runs the PodDisruptionBudget controller: it keeps the status of
// every policy/v1 PodDisruptionBudget, which the eviction subresource of pods reads and
// decrements, as upstream's does.
//
//   - expectedPods: the number of pods selected when minAvailable is an integer;
//     otherwise the sum of the replicas of the pods' controllers: ReplicationController,
//     Deployment (through its ReplicaSet), ReplicaSet, StatefulSet, or any resource with
//     the scale subresource, found through discovery.
//   - currentHealthy: the selected pods that are ready, not being deleted and not in
//     status.disruptedPods; desiredHealthy from minAvailable or maxUnavailable (an
//     integer or a percentage of expectedPods, rounded up); disruptionsAllowed is
//     currentHealthy - desiredHealthy, and 0 while expectedPods is 0.
//   - status.disruptedPods holds the pods the eviction subresource let go; an entry is
//     dropped once its pod is being deleted or gone, or two minutes after the eviction
//     (event NotDeleted), when the budget is synced again.
//   - The DisruptionAllowed condition: SufficientPods, InsufficientPods, or SyncFailed
//     with disruptionsAllowed 0 when the status cannot be computed.
//   - A pod whose DisruptionTarget condition is True but which is not being deleted two
//     minutes after the condition was set (and did not get it from its kubelet) has the
//     condition set back to False.
//
// Events are upstream's: NoPods, CalculateExpectedPodCountFailed, UnmanagedPods,
// NotDeleted, MultiplePodDisruptionBudgets.
package disruption
