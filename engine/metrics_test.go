package engine_test

import (
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// endpointLabel is how /metrics names url, as GET /v1/endpoints says.
func (s *server) endpointLabel(url string) string {
	s.t.Helper()
	var list struct {
		Endpoints []struct{ URL, Label string }
	}
	s.call("GET", "/v1/endpoints", nil, &list)
	for _, ep := range list.Endpoints {
		if ep.URL == url {
			return ep.Label
		}
	}
	s.t.Fatalf("GET /v1/endpoints does not list %s", url)
	return ""
}

// scrape reads /metrics with the Prometheus text parser.
func (s *server) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		s.t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return families
}

// value returns the value of the metric with the given labels (nil: the
// only one), a histogram's count of observations, or -1 when absent.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsCountWhatHappened scrapes /metrics after a known sequence and
// checks each counter against it.
func TestMetricsCountWhatHappened(t *testing.T) {
	recv := newReceiver(t)
	srv := startServer(t, t.TempDir(), nil)
	st := srv.createStream(checkoutFriction(recv.URL))
	srv.sendEvents(
		map[string]any{"id": "1", "session_id": "s1", "type": "rage_click", "url": "/cart"},
		map[string]any{"id": "2", "session_id": "s2", "type": "rage_click", "url": "/cart"},
		map[string]any{"id": "3", "session_id": "s2", "type": "click"},
	)
	srv.sendEvents(
		map[string]any{"id": "3", "session_id": "s2", "type": "click"}, // duplicate
		map[string]any{"id": "4", "session_id": "s3", "type": "click"},
	)
	if status, _ := srv.raw("POST", "/v1/events", "application/json", `{"session_id":"s","type":"Bad"}`); status != 400 {
		t.Fatalf("invalid request: %d", status)
	}
	waitFor(t, 5*time.Second, "two webhooks", func() bool { return recv.count() == 2 })
	var got map[string]float64
	waitFor(t, 5*time.Second, "the counters to settle", func() bool {
		m := srv.scrape()
		got = map[string]float64{
			"accepted":   value(m, "hookwire_events_accepted_total", nil),
			"duplicates": value(m, "hookwire_events_duplicate_total", nil),
			"rejected":   value(m, "hookwire_event_requests_rejected_total", map[string]string{"reason": "invalid"}),
			"evaluated":  value(m, "hookwire_events_evaluated_total", nil),
			"matches":    value(m, "hookwire_stream_matches_total", map[string]string{"stream_id": st.ID}),
			"attempts":   value(m, "hookwire_delivery_attempts_total", map[string]string{"outcome": "success"}),
			"succeeded":  value(m, "hookwire_deliveries_total", map[string]string{"status": "succeeded"}),
			"breaker":    value(m, "hookwire_endpoint_breaker_state", map[string]string{"endpoint": srv.endpointLabel(recv.URL)}),
			"in_flight":  value(m, "hookwire_events_in_flight", nil),
			"syncs":      value(m, "hookwire_event_log_sync_seconds", nil),
			"commits":    value(m, "hookwire_session_commit_seconds", nil),
		}
		return got["succeeded"] == 2 && got["evaluated"] == 4
	})
	want := map[string]float64{"accepted": 4, "duplicates": 1, "rejected": 1, "evaluated": 4, "matches": 2,
		"attempts": 2, "succeeded": 2, "breaker": 0, "in_flight": 0}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	// Two requests wrote events: each was synced, alone or with the other.
	// The matches were recorded before their webhooks were sent.
	if got["syncs"] < 1 || got["syncs"] > 2 {
		t.Errorf("event log syncs timed: %v, want 1 or 2", got["syncs"])
	}
	if got["commits"] < 1 {
		t.Errorf("session commits timed: %v, want at least 1", got["commits"])
	}
	m := srv.scrape()
	for _, name := range []string{"hookwire_live_sessions", "hookwire_store_lsm_bytes", "hookwire_store_vlog_bytes",
		"hookwire_delivery_attempt_seconds", "go_goroutines"} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s is not exported", name)
		}
	}
	// A deleted stream's series go with it: ids are never reused, and
	// kept series would grow /metrics with every stream ever made.
	if status, body := srv.raw("DELETE", "/v1/streams/"+st.ID, "", ""); status != 204 {
		t.Fatalf("delete stream: %d %s", status, body)
	}
	if v := value(srv.scrape(), "hookwire_stream_matches_total", map[string]string{"stream_id": st.ID}); v != -1 {
		t.Errorf("the deleted stream's matches are still exported: %v", v)
	}
}
