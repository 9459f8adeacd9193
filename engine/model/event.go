package model

import (
	"encoding/json"
	"time"
)

// Event is one user-behaviour event, validated and normalised at ingest:
// Timestamp is UTC with millisecond precision (receive time when the
// producer sent none).
type Event struct {
	ID         string          `json:"id,omitempty"`
	SessionID  string          `json:"session_id"`
	Type       string          `json:"type"`
	Name       string          `json:"name,omitempty"`
	Timestamp  time.Time       `json:"timestamp"`
	URL        string          `json:"url,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	User       *User           `json:"user,omitempty"`
}

// User is who the session belongs to, as the producer knows them.
type User struct {
	UID         string          `json:"uid,omitempty"`
	Email       string          `json:"email,omitempty"`
	DisplayName string          `json:"display_name,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
}
