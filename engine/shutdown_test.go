package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestGracefulShutdownUnderLoad: producers keep sending while the engine
// shuts down (what SIGTERM does). Every request is answered 202, or
// refused in a way a producer retries (503, or no connection), never a
// 500; and every event answered 202 is counted by its session after a
// restart: none accepted is lost.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	const producers, batch = 4, 25
	var (
		mu       sync.Mutex
		accepted = map[string]int{} // session → events answered 202
		refused  = map[int]int{}    // status → requests (0: no connection)
	)
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				events := make([]map[string]any, batch)
				for i := range events {
					events[i] = map[string]any{"session_id": fmt.Sprintf("p%d-s%d", p, i), "type": "click",
						"id": fmt.Sprintf("p%d-r%d-e%d", p, round, i)}
				}
				body, _ := json.Marshal(events)
				resp, err := client.Post(srv.base+"/v1/events", "application/json", bytes.NewReader(body))
				status := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				if status == http.StatusAccepted {
					for i := range events {
						accepted[fmt.Sprintf("p%d-s%d", p, i)]++
					}
				} else {
					refused[status]++
				}
				mu.Unlock()
				if status != http.StatusAccepted {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	waitFor(t, 10*time.Second, "some accepted events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return accepted["p0-s0"] >= 20
	})
	srv.stop() // as on SIGTERM: stop accepting, finish what is in flight, flush
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	for status, n := range refused {
		if status != 0 && status != http.StatusServiceUnavailable {
			t.Errorf("%d requests answered %d during the shutdown; want 202, 503 or no connection", n, status)
		}
	}

	srv = startServer(t, dir, nil)
	for session, want := range accepted {
		var got struct{ Events int }
		waitFor(t, 10*time.Second, "session "+session+"'s events after the restart", func() bool {
			return srv.call("GET", "/v1/sessions/"+session, nil, &got) == 200 && got.Events >= want
		})
		if got.Events != want {
			t.Errorf("session %s counts %d events, %d were answered 202", session, got.Events, want)
		}
	}
	t.Logf("accepted per session %d (p0-s0), refused %v", accepted["p0-s0"], refused)
}
