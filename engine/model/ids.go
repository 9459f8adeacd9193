package model

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix + a time-ordered random identifier, so identifiers
// sort by creation time.
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// WebhookID is the id of the behavioural message for (stream, session): a
// pure function of the two, so a message re-created after a crash keeps the
// id receivers dedupe on.
func WebhookID(streamID, sessionID string) string {
	sum := sha256.Sum256([]byte(streamID + "\x00" + sessionID))
	return "msg_" + strings.ToLower(idEncoding.EncodeToString(sum[:20]))
}
