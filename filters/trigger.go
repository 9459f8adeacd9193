package filters

import "encoding/json"

// Trigger is one OR-ed way for a stream to fire. Exactly one of its forms is
// used: Event (+Where, optionally MinCount), Sequence (+Within), or Filter
// (+Config).
type Trigger struct {
	Event string      `json:"event,omitempty"`
	Where []Condition `json:"where,omitempty"`
	// MinCount is nil for "the first match"; a pointer, so that an
	// explicit 0 is refused rather than dropped.
	MinCount *int            `json:"min_count,omitempty"`
	Sequence []Step          `json:"sequence,omitempty"`
	Within   string          `json:"within,omitempty"`
	Filter   string          `json:"filter,omitempty"`
	Config   json.RawMessage `json:"config,omitempty"`
}

// Step is one step of a sequence trigger.
type Step struct {
	Event string      `json:"event"`
	Where []Condition `json:"where,omitempty"`
}

// Condition tests one field of an event. Conditions in a Where are AND-ed.
type Condition struct {
	Field string          `json:"field"`
	Op    Op              `json:"op"`
	Value json.RawMessage `json:"value,omitempty"`
}

// Op is a comparison operator.
type Op string

// The operators of CONTRACT §2.
const (
	OpEq          Op = "eq"
	OpNeq         Op = "neq"
	OpContains    Op = "contains"
	OpNotContains Op = "not_contains"
	OpStartsWith  Op = "starts_with"
	OpEndsWith    Op = "ends_with"
	OpMatches     Op = "matches"
	OpGt          Op = "gt"
	OpGte         Op = "gte"
	OpLt          Op = "lt"
	OpLte         Op = "lte"
	OpExists      Op = "exists"
	OpIn          Op = "in"
)

// Limits on a definition, so that one stream cannot make compilation or
// evaluation expensive for everyone.
const (
	MaxTriggers      = 32
	MaxConditions    = 32
	MaxInValues      = 256
	MaxStringValue   = 4096
	MaxPatternLength = 1024
	// MaxPatterns bounds the matches conditions of one stream: each is a
	// DFA built at create time, so this bounds a definition's compile cost.
	MaxPatterns       = 16
	MaxFieldPathDepth = 16
)
