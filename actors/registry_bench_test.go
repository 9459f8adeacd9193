package actors

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRegistryHandOver is the registry's cost per message as the
// ingest writer uses it: 100-message batches staged by a Sender, spread
// over many live actors (so nearly every message goes to its own actor,
// a cache miss away), queued with one lock per partition and run by the
// partitions' workers. ns/op is per message, until it has been handled.
func BenchmarkRegistryHandOver(b *testing.B) {
	for _, actors := range []int{1_000, 100_000} {
		b.Run(strconv.Itoa(actors)+"_actors", func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			var g Group
			defer func() { cancel(); g.Wait() }()
			reg := NewRegistry(ctx, &g, RegistryConfig[string, int]{
				Spawn: func(string) Behaviour[int] { return &tally{} },
			})
			keys := make([]string, actors)
			for i := range keys {
				keys[i] = "session-" + strconv.Itoa(i)
			}
			sender := reg.NewSender()
			for _, k := range keys { // every actor live before the clock starts
				sender.Add(k, 0)
			}
			sender.Flush()
			reg.Settle(ctx)
			b.ResetTimer()
			next := 0
			for sent := 0; sent < b.N; {
				n := min(100, b.N-sent)
				for range n {
					sender.Add(keys[next], 1)
					next = (next + 7919) % len(keys) // a stride, not the cache's friend
				}
				sender.Flush()
				sent += n
				for reg.Pending() > 10_000 { // as ingest's in-flight bound would
					time.Sleep(10 * time.Microsecond)
				}
			}
			reg.Settle(ctx)
		})
	}
}

type tally struct{ n int }

func (t *tally) Receive(b []int) {
	for _, m := range b {
		t.n += m
	}
}
func (t *tally) Deadline() time.Time    { return time.Time{} }
func (t *tally) Timeout(time.Time) bool { return false }
func (t *tally) Stopped(StopReason)     {}
