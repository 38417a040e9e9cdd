package job

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

const (
	// indexEnv is the variable that gives an Indexed Job's containers their index.
	indexEnv = "JOB_COMPLETION_INDEX"
	// noIndex is the completion index of a pod that has none (or a bad one).
	noIndex = -1
	// maxGenerateName is how long a generateName may be so that the server's five
	// random characters keep the name within 63.
	maxGenerateName = 58
)

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

func perIndexBackoff(job *batchv1.Job) bool { return job.Spec.BackoffLimitPerIndex != nil }

// span is the closed range of indexes [first, last].
type span struct{ first, last int }

// intervals is an ordered list of disjoint, non-adjacent spans, written as upstream
// writes completedIndexes: "1,3-5" (two adjacent indexes are "1,2", not "1-2").
type intervals []span

// parseIntervals reads s, dropping indexes at or beyond completions and parts that
// do not parse.
func parseIntervals(s string, completions int) intervals {
	if s == "" {
		return nil
	}
	var out intervals
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				continue
			}
			last = min(last, completions-1)
		}
		if n := len(out); n > 0 && out[n-1].last+1 == first {
			out[n-1].last = last
			continue
		}
		out = append(out, span{first, last})
	}
	return out
}

func (iv intervals) String() string {
	var b strings.Builder
	for _, s := range iv {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s.first))
		switch {
		case s.last == s.first+1:
			fmt.Fprintf(&b, ",%d", s.last)
		case s.last > s.first:
			fmt.Fprintf(&b, "-%d", s.last)
		}
	}
	return b.String()
}

// total is how many indexes iv holds.
func (iv intervals) total() int {
	n := 0
	for _, s := range iv {
		n += s.last - s.first + 1
	}
	return n
}

func (iv intervals) has(ix int) bool {
	i := sort.Search(len(iv), func(i int) bool { return iv[i].last >= ix })
	return i < len(iv) && iv[i].first <= ix
}

// merge returns the union of iv and other.
func (iv intervals) merge(other intervals) intervals {
	all := append(append(intervals(nil), iv...), other...)
	sort.Slice(all, func(i, j int) bool { return all[i].first < all[j].first })
	var out intervals
	for _, s := range all {
		if n := len(out); n > 0 && s.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, s.last)
			continue
		}
		out = append(out, s)
	}
	return out
}

// with returns iv plus the indexes given.
func (iv intervals) with(indexes ...int) intervals {
	add := make(intervals, len(indexes))
	for i, ix := range indexes {
		add[i] = span{ix, ix}
	}
	return iv.merge(add)
}

// completionIndex is p's completion index, or noIndex.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 {
		return noIndex
	}
	return ix
}

// validIndex is p's completion index when it is within job's completions.
func validIndex(job *batchv1.Job, p *corev1.Pod) (int, bool) {
	ix := completionIndex(p)
	return ix, ix != noIndex && ix < int(completions(job))
}

func indexesOf(pods []*corev1.Pod) []int {
	s := sets.New[int]()
	for _, p := range pods {
		if ix := completionIndex(p); ix != noIndex {
			s.Insert(ix)
		}
	}
	return sets.List(s)
}

// annotationCount reads a failure-count annotation; absent or bad values are 0.
func annotationCount(p *corev1.Pod, key string) int32 {
	v, ok := p.Annotations[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0
	}
	return int32(n)
}

// indexFailures is how many failures of p's index count against
// backoffLimitPerIndex before p.
func indexFailures(p *corev1.Pod) int32 {
	return annotationCount(p, batchv1.JobIndexFailureCountAnnotation)
}

// allIndexFailures also includes the failures a pod failure policy ignored.
func allIndexFailures(p *corev1.Pod) int32 {
	return indexFailures(p) + annotationCount(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

// indexGenerateName is "<job>-<index>-", its job part shortened to fit.
func indexGenerateName(job string, ix int) string {
	suffix := fmt.Sprintf("-%d-", ix)
	if len(job)+len(suffix) > maxGenerateName {
		job = job[:maxGenerateName-len(suffix)]
	}
	return job + suffix
}

// succeededIndexes returns the indexes status.completedIndexes holds and those plus
// the indexes of succeeded pods not yet counted.
func succeededIndexes(job *batchv1.Job, pods []*corev1.Pod) (prev, now intervals) {
	prev = parseIntervals(job.Status.CompletedIndexes, int(completions(job)))
	var add []int
	for _, p := range pods {
		if ix, ok := validIndex(job, p); ok && p.Status.Phase == corev1.PodSucceeded && hasTrackingFinalizer(p) {
			add = append(add, ix)
		}
	}
	sort.Ints(add)
	return prev, prev.with(add...)
}

// failedIndexes returns status.failedIndexes plus the indexes whose uncounted pods
// exhausted backoffLimitPerIndex or matched a FailIndex rule.
func failedIndexes(job *batchv1.Job, pods []*corev1.Pod) intervals {
	var prev intervals
	if job.Status.FailedIndexes != nil {
		prev = parseIntervals(*job.Status.FailedIndexes, int(completions(job)))
	}
	var add []int
	for _, p := range pods {
		if ix, ok := validIndex(job, p); ok && hasTrackingFinalizer(p) && indexFailed(job, p) {
			add = append(add, ix)
		}
	}
	sort.Ints(add)
	return prev.with(add...)
}

// indexFailed reports whether the failure of p ends its index.
func indexFailed(job *batchv1.Job, p *corev1.Pod) bool {
	if !podFailed(p, job) {
		return false
	}
	m := matchFailurePolicy(job.Spec.PodFailurePolicy, p)
	if m.action == batchv1.PodFailurePolicyActionFailIndex {
		return true
	}
	return m.count && indexFailures(p) >= *job.Spec.BackoffLimitPerIndex
}

// pendingIndexes returns up to count indexes below completions that have no active
// pod, have not succeeded and have not failed; with podReplacementPolicy Failed, an
// index whose pod is still terminating is not pending either.
func pendingIndexes(s *state, count int) []int {
	if count <= 0 {
		return nil
	}
	busy := s.succeededIdx.with(indexesOf(s.active)...)
	if onlyReplaceFailed(s.job) {
		busy = busy.with(indexesOf(terminatingPods(s.pods))...)
	}
	busy = busy.merge(s.failedIdx)
	n := int(completions(s.job))
	var out []int
	next := 0
	for _, b := range append(busy, span{n, n}) {
		for ; next < min(b.first, n) && len(out) < count; next++ {
			out = append(out, next)
		}
		next = max(next, b.last+1)
		if len(out) == count || next >= n {
			break
		}
	}
	return out
}

// delayedDeletions returns, per index that has neither succeeded, failed nor an
// active pod, the failed pod whose finalizer stays until its replacement exists:
// the replacement's failure count is taken from it.
func delayedDeletions(s *state) map[int]*corev1.Pod {
	active := sets.New(indexesOf(s.active)...)
	out := map[int]*corev1.Pod{}
	for _, p := range s.uncountedPods() {
		if !podFailed(p, s.job) {
			continue
		}
		ix, ok := validIndex(s.job, p)
		if !ok || s.succeededIdx.has(ix) || s.failedIdx.has(ix) || active.Has(ix) {
			continue
		}
		last, seen := out[ix]
		if !seen || (allIndexFailures(last) <= allIndexFailures(p) && !finishTime(p).Before(finishTime(last))) {
			out[ix] = p
		}
	}
	return out
}

// surplusIndexed splits an Indexed Job's active pods into those to delete whatever
// the count (no valid index, or a second pod of an index: the one most worth
// keeping stays) and the rest.
func surplusIndexed(job *batchv1.Job, pods []*corev1.Pod) (rm, keep []*corev1.Pod) {
	byIndex := map[int][]*corev1.Pod{}
	for _, p := range pods {
		ix, ok := validIndex(job, p)
		if !ok {
			rm = append(rm, p)
			continue
		}
		byIndex[ix] = append(byIndex[ix], p)
	}
	ixs := make([]int, 0, len(byIndex))
	for ix := range byIndex {
		ixs = append(ixs, ix)
	}
	sort.Ints(ixs)
	for _, ix := range ixs {
		group := byIndex[ix]
		sortForRemoval(group)
		rm = append(rm, group[:len(group)-1]...)
		keep = append(keep, group[len(group)-1])
	}
	return rm, keep
}
