package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestBatchWorkloads: Jobs and CronJobs through kubectl on a real agent. A CronJob that
// runs every minute is made first, since its first run can be a minute away; meanwhile
// a Job of three completions, two at a time, completes, and a Job whose pods fail stops
// at its backoffLimit with exactly backoffLimit+1 pods. Then the CronJob has run, and
// `kubectl create job --from=cronjob` runs it by hand.
func TestBatchWorkloads(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	manifest := `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: tick
            image: busybox
            command: ["sh", "-c", "echo tick"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: ok
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
        command: ["sh", "-c", "echo done"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: failing
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
        command: ["sh", "-c", "exit 3"]
`
	if out, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s%s", err, out, errOut)
	}

	c.mustKubectl("wait", "--for=condition=complete", "job/ok", "--timeout=120s")
	if out := c.mustKubectl("get", "job", "ok"); !regexp.MustCompile(`ok\s+Complete\s+3/3\s+`).MatchString(out) {
		t.Errorf("get job ok:\n%s", out)
	}
	if logs := c.mustKubectl("logs", "job/ok"); strings.TrimSpace(logs) != "done" {
		t.Errorf("logs of job/ok: %q", logs)
	}

	// Pods fail at once; the retries wait 10 s and 20 s.
	c.mustKubectl("wait", "--for=condition=failed", "job/failing", "--timeout=180s")
	job, err := cs.BatchV1().Jobs("default").Get(ctx, "failing", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status.Failed != 3 || job.Status.Succeeded != 0 || job.Status.Active != 0 {
		t.Errorf("failing job status: failed %d succeeded %d active %d, want 3 failed", job.Status.Failed, job.Status.Succeeded, job.Status.Active)
	}
	if cond := jobCondition(job, batchv1.JobFailed); cond == nil || cond.Reason != "BackoffLimitExceeded" {
		t.Errorf("Failed condition %+v, want reason BackoffLimitExceeded", cond)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=failing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Errorf("%d pods of the failing job, want backoffLimit+1 = 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodFailed || len(p.Finalizers) != 0 {
			t.Errorf("pod %s: phase %s, finalizers %v; want Failed and counted", p.Name, p.Status.Phase, p.Finalizers)
		}
	}
	if out := c.mustKubectl("describe", "job", "failing"); !strings.Contains(out, "BackoffLimitExceeded") {
		t.Errorf("describe job failing has no BackoffLimitExceeded event:\n%s", out)
	}

	// The CronJob has run by now or within its minute.
	waitForWithin(t, 2*time.Minute, one(cs, "cronjobs", "default", "tick"), "cronjob tick to have succeeded once", func(cj *batchv1.CronJob, ok bool) bool {
		return ok && cj.Status.LastSuccessfulTime != nil
	})
	jobs, err := cs.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	for _, j := range jobs.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.Kind == "CronJob" && ref.Name == "tick" &&
			regexp.MustCompile(`^tick-\d+$`).MatchString(j.Name) && j.Annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] != "" {
			ran = true
		}
	}
	if !ran {
		t.Errorf("no job named tick-<minutes> owned by the CronJob among %d jobs", len(jobs.Items))
	}

	c.mustKubectl("create", "job", "by-hand", "--from=cronjob/tick")
	c.mustKubectl("wait", "--for=condition=complete", "job/by-hand", "--timeout=120s")
	if logs := c.mustKubectl("logs", "job/by-hand"); strings.TrimSpace(logs) != "tick" {
		t.Errorf("logs of job/by-hand: %q", logs)
	}
	c.mustKubectl("delete", "cronjob", "tick")
	c.mustKubectl("delete", "jobs", "--all")
	c.mustKubectl("wait", "--for=delete", "pods", "--all", "--timeout=60s")
}

func jobCondition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if c := &j.Status.Conditions[i]; c.Type == typ && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}
