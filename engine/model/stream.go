package model

import (
	"time"

	"github.com/hookwire/hookwire/filters"
)

// Stream is a behavioural webhook definition: when any trigger completes in
// a session, one signed webhook goes to Destination, once per session.
type Stream struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Enabled     bool              `json:"enabled"`
	Triggers    []filters.Trigger `json:"triggers"`
	Destination Destination       `json:"destination"`
	// Fields maps payload field names to paths into the completing event,
	// the session's user and the session (event.<path>, user.<path>,
	// session.<path>).
	Fields        map[string]string `json:"fields,omitempty"`
	SignalVersion int               `json:"signal_version"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	// DisabledReason says why hookwire itself disabled the stream (for
	// example a 410 from the destination); empty when a person did.
	DisabledReason string `json:"disabled_reason,omitempty"`
}

// Destination is where a stream's webhooks go and the secret they are
// signed with. Secret is stored but never leaves the engine through the API.
type Destination struct {
	URL       string `json:"url"`
	Secret    string `json:"secret,omitempty"`
	SecretSet bool   `json:"secret_set"`
}

// Redacted returns a copy fit for API responses: no secret.
func (s *Stream) Redacted() *Stream {
	out := *s
	out.Destination.Secret = ""
	out.Destination.SecretSet = s.Destination.Secret != ""
	return &out
}

// Filter describes an uploaded WebAssembly filter module.
type Filter struct {
	Name      string    `json:"name"`
	SHA256    string    `json:"sha256"`
	Size      int       `json:"size"`
	ABI       string    `json:"abi"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LoadError, never stored, says why a stored module did not load at
	// start: its streams count a fault per event until it is uploaded
	// again.
	LoadError string `json:"load_error,omitempty"`
}

// APIKey is a stored API key: its SHA-256, never the key.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	Hash string `json:"-"`
	// Prefix is the key's first characters, to recognise it in a list.
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}
