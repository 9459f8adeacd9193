package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwire/hookwire/engine/signing"
)

// loadReceiver verifies every webhook's signature and records when each
// (stream, session) arrived.
type loadReceiver struct {
	server *http.Server
	url    string

	mu       sync.Mutex
	arrivals map[pair][]time.Time
	firstID  map[pair]string // the webhook-id of each pair's first arrival
	ids      map[string]int
	bad      atomic.Int64
	total    atomic.Int64
}

func startLoadReceiver() (*loadReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &loadReceiver{url: "http://" + ln.Addr().String() + "/hook", arrivals: map[pair][]time.Time{}, firstID: map[pair]string{}, ids: map[string]int{}}
	r.server = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.server.Serve(ln)
	return r, nil
}

func (r *loadReceiver) close() { r.server.Close() }

func (r *loadReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil || signing.Verify(crashSecret, req.Header.Get, body, 5*time.Minute, now) != nil {
		r.bad.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.total.Add(1)
	if req.Header.Get("X-Bench-Probe") != "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	var p struct {
		StreamID string `json:"stream_id"`
		Session  struct{ ID string }
	}
	if json.Unmarshal(body, &p) != nil {
		r.bad.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	k := pair{p.StreamID, p.Session.ID}
	r.mu.Lock()
	if len(r.arrivals[k]) == 0 {
		r.firstID[k] = req.Header.Get(signing.HeaderID)
	}
	r.arrivals[k] = append(r.arrivals[k], now)
	r.ids[req.Header.Get(signing.HeaderID)]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *loadReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrivals)
}

func (r *loadReceiver) countOf(sent map[pair]time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k := range sent {
		if len(r.arrivals[k]) > 0 {
			n++
		}
	}
	return n
}

// reconcile compares what arrived with what was sent: lost pairs, extra
// deliveries (a redelivered webhook-id, or a second webhook for a pair),
// and each pair's latency from its send to its first arrival.
func (r *loadReceiver) reconcile(sent map[pair]time.Time) (lost, duplicated int, latencies []latencySample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, at := range sent {
		arr := r.arrivals[k]
		if len(arr) == 0 {
			lost++
			continue
		}
		duplicated += len(arr) - 1
		latencies = append(latencies, latencySample{sent: at, ms: ms(arr[0].Sub(at)),
			pair: k, arrived: arr[0], webhookID: r.firstID[k]})
	}
	return lost, duplicated, latencies
}

// latencySample is one webhook's latency and when its event was sent; and
// when it arrived, with its webhook-id, to ask the server about it.
type latencySample struct {
	sent      time.Time
	ms        float64
	pair      pair
	arrived   time.Time
	webhookID string
}

// missing returns up to n of the sent signals whose webhook has not
// arrived.
func (r *loadReceiver) missing(sent map[pair]time.Time, n int) []pair {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pair
	for k := range sent {
		if len(r.arrivals[k]) == 0 && len(out) < n {
			out = append(out, k)
		}
	}
	return out
}

// maximum measures how many signed requests per second the receiver itself
// takes, from four concurrent senders, for d.
func (r *loadReceiver) maximum(d time.Duration) float64 {
	signer, _ := signing.NewSigner(crashSecret, "hookwire")
	body := bytes.Repeat([]byte("x"), 900)
	start := time.Now()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for time.Since(start) < d {
				ts := time.Now().Unix()
				req, _ := http.NewRequest("POST", r.url, bytes.NewReader(body))
				req.Header.Set(signing.HeaderID, "probe")
				req.Header.Set(signing.HeaderTimestamp, strconv.FormatInt(ts, 10))
				req.Header.Set(signing.HeaderSignature, signer.Standard("probe", ts, body))
				req.Header.Set("X-Bench-Probe", "1")
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
