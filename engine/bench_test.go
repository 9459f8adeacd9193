package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine"
)

// BenchmarkIngest posts batches of 100 events (~300 bytes each, 10k
// sessions) to a real server with 10 streams, from 4 concurrent producers,
// and reports accepted events per second. Durable (sync) acceptance.
func BenchmarkIngest(b *testing.B) {
	for _, durability := range []string{"sync", "batch"} {
		b.Run(durability, func(b *testing.B) {
			recv := newReceiver(b).URL
			srv := startBenchServer(b, durability)
			for i := range 10 {
				def := checkoutFriction(recv)
				def["name"] = fmt.Sprintf("stream %d", i)
				body, _ := json.Marshal(def)
				resp, err := http.Post(srv+"/v1/streams", "application/json", bytes.NewReader(body))
				if err != nil || resp.StatusCode != 201 {
					b.Fatalf("create stream: %v %v", err, resp)
				}
				resp.Body.Close()
			}
			batches := make([][]byte, 64)
			for i := range batches {
				var evs []map[string]any
				for j := range 100 {
					evs = append(evs, map[string]any{"session_id": fmt.Sprintf("s-%d", (i*100+j)%10000),
						"type": "click", "url": "https://shop.example/products/12345?ref=campaign-autumn",
						"properties": map[string]any{"target_text": "Add to cart", "price": 19.99, "sku": "SKU-12345"},
						"user":       map[string]any{"uid": fmt.Sprintf("u-%d", j)}})
				}
				batches[i], _ = json.Marshal(evs)
			}
			b.SetParallelism(2) // 2 × GOMAXPROCS producers
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					resp, err := http.Post(srv+"/v1/events", "application/json", bytes.NewReader(batches[i%len(batches)]))
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 202 && resp.StatusCode != 429 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func startBenchServer(b *testing.B, durability string) string {
	cfg := engine.DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Dev, cfg.Durability = "127.0.0.1:0", b.TempDir(), true, durability
	cfg.Logger = discardLogger()
	e, err := engine.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	base := "http://" + e.Addr()
	for range 500 {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("server not ready")
	return ""
}
