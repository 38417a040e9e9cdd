package queue

import "container/heap"

// podHeap is a heap of queued pods that can also find, update and remove a pod by key.
type podHeap struct {
	items []*QueuedPodInfo
	index map[string]int
	less  func(a, b *QueuedPodInfo) bool
}

func newPodHeap(less func(a, b *QueuedPodInfo) bool) *podHeap {
	return &podHeap{index: map[string]int{}, less: less}
}

// heap.Interface, for container/heap only.
func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].key] = i
	h.index[h.items[j].key] = j
}
func (h *podHeap) Push(x any) {
	q := x.(*QueuedPodInfo)
	h.index[q.key] = len(h.items)
	h.items = append(h.items, q)
}
func (h *podHeap) Pop() any {
	last := len(h.items) - 1
	q := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	delete(h.index, q.key)
	return q
}

func (h *podHeap) add(q *QueuedPodInfo) { heap.Push(h, q) }

func (h *podHeap) get(key string) (*QueuedPodInfo, bool) {
	i, ok := h.index[key]
	if !ok {
		return nil, false
	}
	return h.items[i], true
}

// update replaces the pod with q's key and restores the order.
func (h *podHeap) update(q *QueuedPodInfo) {
	i := h.index[q.key]
	h.items[i] = q
	heap.Fix(h, i)
}

func (h *podHeap) remove(key string) (*QueuedPodInfo, bool) {
	i, ok := h.index[key]
	if !ok {
		return nil, false
	}
	return heap.Remove(h, i).(*QueuedPodInfo), true
}

func (h *podHeap) peek() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *podHeap) pop() *QueuedPodInfo { return heap.Pop(h).(*QueuedPodInfo) }
