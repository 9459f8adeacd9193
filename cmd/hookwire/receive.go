package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hookwire/hookwire/engine/signing"
)

// receive is the example receiver: it checks both signatures of every
// webhook and prints what arrived, so a newcomer can watch hookwire work.
func receive(args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9000", "address to receive webhooks on")
	secret := fs.String("secret", "", "the stream's destination secret (required)")
	orgID := fs.String("org-id", "hookwire", "org id expected in Fullstory-Signature")
	status := fs.Int("status", 200, "HTTP status to answer with (try 500 to watch retries)")
	if err := parseWithEnv(fs, args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}
	if *secret == "" {
		return errors.New("--secret is required: the destination secret of the stream you send here")
	}
	fmt.Fprintf(os.Stderr, "receiving webhooks on http://%s/ (answering %d)\n", *listen, *status)
	return http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, "reading body", http.StatusBadRequest)
			return
		}
		std := "ok"
		if err := signing.Verify(*secret, r.Header.Get, body, 5*time.Minute, time.Now()); err != nil {
			std = "INVALID: " + err.Error()
		}
		fs := "ok"
		if err := verifyFullstory(*secret, *orgID, r.Header.Get(signing.HeaderFullstory), body); err != nil {
			fs = "INVALID: " + err.Error()
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "  ", "  ") != nil {
			pretty.Reset()
			pretty.Write(body)
		}
		fmt.Printf("%s  webhook-id=%s\n  webhook-signature: %s\n  Fullstory-Signature: %s\n  %s\n\n",
			time.Now().Format(time.RFC3339), r.Header.Get(signing.HeaderID), std, fs, pretty.String())
		w.WriteHeader(*status)
	}))
}

// verifyFullstory checks o:<org>,t:<ts>,v:<base64 HMAC(secret, body:org:ts)>.
func verifyFullstory(secret, orgID, header string, body []byte) error {
	parts := map[string]string{}
	for _, p := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(p, ":")
		if ok {
			parts[k] = v
		}
	}
	if parts["o"] == "" || parts["t"] == "" || parts["v"] == "" {
		return errors.New("missing or malformed header")
	}
	if parts["o"] != orgID {
		return fmt.Errorf("org %q, expected %q", parts["o"], orgID)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s:%s:%s", body, parts["o"], parts["t"])
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(parts["v"])) {
		return errors.New("signature does not match")
	}
	return nil
}
