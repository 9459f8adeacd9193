package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	HeaderFullstory = "Fullstory-Signature"
)

// SecretPrefix marks a base64 secret in the Standard Webhooks format.
const SecretPrefix = "whsec_"

var (
	ErrBadSecret   = errors.New("signing: secret starting with whsec_ must be base64 after the prefix")
	ErrMissing     = errors.New("signing: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrNoMatch     = errors.New("signing: no signature matches")
	ErrOutOfWindow = errors.New("signing: timestamp outside the tolerance window")
)

// NewSecret returns a fresh whsec_ secret with 32 random bytes.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// CheckSecret reports whether a user-supplied secret can be used.
func CheckSecret(secret string) error {
	_, err := standardKey(secret)
	return err
}

// standardKey is the HMAC key of the Standard Webhooks scheme: the base64
// decoding of what follows whsec_, or else the secret's raw bytes.
func standardKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Signer computes both signatures for one secret. It is immutable and safe
// for concurrent use.
type Signer struct {
	key    []byte
	secret []byte
	orgID  string
}

// NewSigner prepares a signer for secret and the org id of the
// Fullstory-Signature header.
func NewSigner(secret, orgID string) (*Signer, error) {
	key, err := standardKey(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, secret: []byte(secret), orgID: orgID}, nil
}

// Standard returns the webhook-signature value: v1,<base64 HMAC-SHA256 of
// "{id}.{timestamp}.{body}">.
func (s *Signer) Standard(id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Fullstory returns the Fullstory-Signature value:
// o:<org>,t:<ts>,v:<base64 HMAC-SHA256(secret bytes, "{body}:{org}:{ts}")>.
func (s *Signer) Fullstory(ts int64, body []byte) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(body)
	mac.Write([]byte(":" + s.orgID + ":"))
	mac.Write(strconv.AppendInt(nil, ts, 10))
	return fmt.Sprintf("o:%s,t:%d,v:%s", s.orgID, ts, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// Verify checks Standard Webhooks headers (get reads a header by name) as a
// receiver would, with a tolerance on the timestamp against now.
func Verify(secret string, get func(string) string, body []byte, tolerance time.Duration, now time.Time) error {
	id, tsText, sigs := get(HeaderID), get(HeaderTimestamp), get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissing
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("signing: webhook-timestamp %q is not Unix seconds", tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrOutOfWindow
	}
	signer, err := NewSigner(secret, "")
	if err != nil {
		return err
	}
	want := signer.Standard(id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrNoMatch
}
