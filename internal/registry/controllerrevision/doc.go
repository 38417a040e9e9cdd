// Package controllerrevision provides the strategy for apps/v1 ControllerRevisions, the
// snapshots of state that DaemonSet and StatefulSet controllers keep for rollouts and
// rollbacks. A revision's data must be a JSON object and may not change once written;
// its revision number may.
package controllerrevision
