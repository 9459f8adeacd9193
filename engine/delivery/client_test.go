package delivery

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/netguard"
	"github.com/hookwire/hookwire/engine/signing"
)

// TestAnswerDecidesWhateverItsBodySize: a receiver's status decides an
// attempt even when its answer's body is over the size we read (an HTML
// page, say): a 200 with 2 MiB is a success, not a failure to retry and
// deliver again; a 500 with one is a failure. The client stays usable.
func TestAnswerDecidesWhateverItsBodySize(t *testing.T) {
	status := http.StatusOK
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(strings.Repeat("<p>thanks</p>", (2<<20)/13)))
	}))
	defer receiver.Close()
	cfg := &Config{Timeout: 5 * time.Second, MaxInFlight: 2, UserAgent: "hookwire/test", Guard: netguard.Guard{AllowPrivate: true}}
	client := newClient(cfg, &outbound{})
	signer, err := signing.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hookwire")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status int
		ok     bool
	}{{http.StatusOK, true}, {http.StatusInternalServerError, false}, {http.StatusAccepted, true}} {
		status = tc.status
		o := send(client, cfg, receiver.URL+"/hook", signer, "msg_1", []byte(`{}`))
		if o.Status != tc.status || o.OK() != tc.ok {
			t.Fatalf("answer %d with a 2 MiB body: outcome status %d, ok %v, err %v; want status %d, ok %v",
				tc.status, o.Status, o.OK(), o.Err, tc.status, tc.ok)
		}
	}
}
