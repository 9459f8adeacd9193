package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCountingFilterKeepsItsCountInSessionState: the stateful scenario's
// filter, built from its source and run by a real server as one session
// would, matches on its config's count of events and not before: it
// keeps its counter in the session's state.
func TestCountingFilterKeepsItsCountInSessionState(t *testing.T) {
	dir := t.TempDir()
	module, err := compileFilter(dir, countFilterName, countWAT)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	srv := &serverProcess{binary: buildHookwire(t), addr: addr, log: log,
		args: []string{"--dev", "--data", filepath.Join(dir, "data"), "--log-level", "warn"}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.kill()
	if err := uploadFilter(srv.base(), countFilterName, module); err != nil {
		t.Fatal(err)
	}
	click := map[string]any{"session_id": "s-1", "type": "click", "url": "https://shop.example/"}
	body, _ := json.Marshal(map[string]any{"config": 3, "events": []any{click, click, click, click}})
	resp, err := http.Post(srv.base()+"/v1/filters/"+countFilterName+"/eval", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Verdicts []struct {
			Match bool   `json:"match"`
			Fault string `json:"fault"`
		} `json:"verdicts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("eval: %d, %v", resp.StatusCode, err)
	}
	var got []bool
	for _, v := range out.Verdicts {
		if v.Fault != "" {
			t.Fatalf("the filter faulted: %s", v.Fault)
		}
		got = append(got, v.Match)
	}
	if len(got) != 4 || got[0] || got[1] || !got[2] || got[3] {
		t.Fatalf("matches %v, want only the third event", got)
	}
}
