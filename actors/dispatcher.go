package actors

import "sync"

// dispatcher runs actors' turns on a fixed set of worker goroutines, as
// protoactor-go's dispatchers do: an idle actor owns no goroutine, so a
// million quiet sessions cost their state and nothing else, and the few
// workers keep the stacks that Wasm calls grow instead of growing (and
// the collector shrinking) one per actor.
//
// A turn (T) is an actor that has messages (or a timeout) waiting: a
// worker runs it once, on its own goroutine.
type dispatcher[T any] struct {
	mu     sync.Mutex
	ready  sync.Cond
	queue  []T // FIFO ring: head at start, len is size
	start  int
	size   int
	closed bool
}

func newDispatcher[T any]() *dispatcher[T] {
	d := &dispatcher[T]{queue: make([]T, 1024)}
	d.ready.L = &d.mu
	return d
}

// schedule queues t. The queue grows as needed: an actor is queued at
// most once at a time, so it is bounded by the number of live actors.
func (d *dispatcher[T]) schedule(t T) {
	d.mu.Lock()
	if d.size == len(d.queue) {
		grown := make([]T, 2*len(d.queue))
		n := copy(grown, d.queue[d.start:])
		copy(grown[n:], d.queue[:d.start])
		d.queue, d.start = grown, 0
	}
	d.queue[(d.start+d.size)%len(d.queue)] = t
	d.size++
	d.mu.Unlock()
	d.ready.Signal()
}

// next waits for a turn; ok is false once the dispatcher is closed and
// its queue is empty.
func (d *dispatcher[T]) next() (t T, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.size == 0 {
		if d.closed {
			return t, false
		}
		d.ready.Wait()
	}
	var none T
	t = d.queue[d.start]
	d.queue[d.start] = none
	d.start = (d.start + 1) % len(d.queue)
	d.size--
	return t, true
}

// work runs turns with run until the dispatcher is closed and drained.
func (d *dispatcher[T]) work(run func(T)) {
	for {
		t, ok := d.next()
		if !ok {
			return
		}
		run(t)
	}
}

// close lets the workers return once the queue is empty.
func (d *dispatcher[T]) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.ready.Broadcast()
}
