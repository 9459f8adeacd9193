package filters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

var (
	filterNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
)

// ValidFilterName reports whether name can name an uploaded filter
// ([a-z0-9][a-z0-9_.-]{0,63}: safe in a URL path and a store key).
func ValidFilterName(name string) bool { return filterNamePattern.MatchString(name) }

// MaxConfigBytes bounds a filter trigger's config.
const MaxConfigBytes = 64 << 10

// ValidEventType reports whether t is a well-formed event type
// ([a-z][a-z0-9_.]{0,63}).
// Every accepted event is checked, so this is a loop, not a regexp.
func ValidEventType(t string) bool {
	if len(t) == 0 || len(t) > 64 || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	for i := 1; i < len(t); i++ {
		if c := t[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// condition is a validated Condition, ready for code generation.
type condition struct {
	field Field
	op    Op
	// operands: strings, numbers, bools (as KindTrue/KindFalse), or null.
	values []Value
	regex  []byte
	want   bool // for exists
}

// Validate checks triggers and reports the first problem with its JSON path
// under prefix (for example "triggers").
func Validate(prefix string, triggers []Trigger) error {
	_, _, err := plan(prefix, triggers)
	return err
}

type triggerPlan struct {
	index      int
	eventType  string
	conditions []condition
	// minCount > 1: the trigger completes on its minCount-th matching event.
	minCount int
	// steps, for a sequence: each step's event type and conditions, in
	// order; the last must come within withinMS of the first.
	steps    []triggerPlan
	withinMS float64
}

// Limits of counting and sequence triggers.
const (
	MaxMinCount      = 1_000_000
	MaxSequenceSteps = 8
	MaxWithin        = 30 * 24 * time.Hour
)

func plan(prefix string, triggers []Trigger) ([]triggerPlan, []CustomTrigger, error) {
	if len(triggers) == 0 {
		return nil, nil, invalid(prefix, "at least one trigger is required")
	}
	if len(triggers) > MaxTriggers {
		return nil, nil, invalid(prefix, "at most %d triggers are allowed, got %d", MaxTriggers, len(triggers))
	}
	var plans []triggerPlan
	var custom []CustomTrigger
	patterns := 0
	for i, t := range triggers {
		path := fmt.Sprintf("%s[%d]", prefix, i)
		if t.Filter != "" || len(t.Config) > 0 {
			c, err := planCustom(path, i, t)
			if err != nil {
				return nil, nil, err
			}
			custom = append(custom, c)
			continue
		}
		var p triggerPlan
		var err error
		if len(t.Sequence) > 0 || t.Within != "" {
			p, err = planSequence(path, t)
		} else {
			p, err = planEvent(path, t.Event, t.Where)
			if err == nil && t.MinCount != nil {
				if n := *t.MinCount; n < 1 || n > MaxMinCount {
					err = invalid(path+".min_count", "must be from 1 to %d, got %d", MaxMinCount, n)
				}
				p.minCount = *t.MinCount
			}
		}
		if err != nil {
			return nil, nil, err
		}
		for _, step := range append([]triggerPlan{p}, p.steps...) {
			for j, c := range step.conditions {
				if c.op == OpMatches {
					if patterns++; patterns > MaxPatterns {
						return nil, nil, invalid(fmt.Sprintf("%s.where[%d]", path, j), "at most %d matches conditions per stream", MaxPatterns)
					}
				}
			}
		}
		p.index = i
		plans = append(plans, p)
	}
	return plans, custom, nil
}

// CustomTrigger is a trigger run by an uploaded filter module.
type CustomTrigger struct {
	// Index is the trigger's position in the stream's triggers.
	Index  int
	Filter string
	// Config is handed to the module's hw_init (compact JSON; empty if none).
	Config []byte
	// Event, when set, scopes the trigger to events of that type: the
	// module is not called for others (an extension of the contract's
	// filter trigger, for filters that only care about one kind of event).
	Event string
}

func planCustom(path string, i int, t Trigger) (CustomTrigger, error) {
	switch {
	case t.Filter == "":
		return CustomTrigger{}, invalid(path+".filter", "required with config: the name of an uploaded filter module")
	case !ValidFilterName(t.Filter):
		return CustomTrigger{}, invalid(path+".filter", "%q is not a filter name: want [a-z0-9][a-z0-9_.-]{0,63}", t.Filter)
	case t.Event != "" && !ValidEventType(t.Event):
		return CustomTrigger{}, invalid(path+".event", "%q is not an event type: want [a-z][a-z0-9_.]{0,63}", t.Event)
	case len(t.Where) > 0 || t.MinCount != nil || len(t.Sequence) > 0 || t.Within != "":
		return CustomTrigger{}, invalid(path, "a filter trigger has only filter, config and optionally event (the one type it sees); "+
			"put other conditions in the filter or in a trigger of their own")
	case len(t.Config) > MaxConfigBytes:
		return CustomTrigger{}, invalid(path+".config", "at most %d bytes, got %d", MaxConfigBytes, len(t.Config))
	}
	c := CustomTrigger{Index: i, Filter: t.Filter, Event: t.Event}
	if len(t.Config) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, t.Config); err != nil {
			return CustomTrigger{}, invalid(path+".config", "not valid JSON: %v", err)
		}
		c.Config = buf.Bytes()
	}
	return c, nil
}

func planSequence(path string, t Trigger) (triggerPlan, error) {
	switch {
	case len(t.Sequence) == 0:
		return triggerPlan{}, invalid(path+".within", "within goes with sequence: the window between the first and the last step")
	case len(t.Sequence) < 2 || len(t.Sequence) > MaxSequenceSteps:
		return triggerPlan{}, invalid(path+".sequence", "needs 2 to %d steps, got %d", MaxSequenceSteps, len(t.Sequence))
	case t.Event != "" || len(t.Where) > 0 || t.MinCount != nil:
		return triggerPlan{}, invalid(path, "a sequence trigger has only sequence and within; put each step's event and where in its step")
	case t.Within == "":
		return triggerPlan{}, invalid(path+".within", "required with sequence: how long the steps may take, e.g. \"10m\"")
	}
	within, err := time.ParseDuration(t.Within)
	if err != nil || within <= 0 || within > MaxWithin {
		return triggerPlan{}, invalid(path+".within", "%q is not a duration from 1ms to %s (e.g. \"30s\", \"10m\", \"2h\")", t.Within, MaxWithin)
	}
	p := triggerPlan{withinMS: float64(within.Milliseconds())}
	for j, step := range t.Sequence {
		sp, err := planEvent(fmt.Sprintf("%s.sequence[%d]", path, j), step.Event, step.Where)
		if err != nil {
			return triggerPlan{}, err
		}
		p.steps = append(p.steps, sp)
	}
	return p, nil
}

func planEvent(path, event string, where []Condition) (triggerPlan, error) {
	if event == "" {
		return triggerPlan{}, invalid(path+".event", "required: the event type this trigger matches, e.g. \"click\"")
	}
	if !ValidEventType(event) {
		return triggerPlan{}, invalid(path+".event", "%q is not an event type: want [a-z][a-z0-9_.]{0,63}", event)
	}
	if len(where) > MaxConditions {
		return triggerPlan{}, invalid(path+".where", "at most %d conditions are allowed, got %d", MaxConditions, len(where))
	}
	p := triggerPlan{eventType: event}
	for j, c := range where {
		cond, err := planCondition(fmt.Sprintf("%s.where[%d]", path, j), c)
		if err != nil {
			return triggerPlan{}, err
		}
		p.conditions = append(p.conditions, cond)
	}
	return p, nil
}

func planCondition(path string, c Condition) (condition, error) {
	if c.Field == "" {
		return condition{}, invalid(path+".field", "required")
	}
	field, ok := ParseField(c.Field)
	if !ok {
		return condition{}, invalid(path+".field", "%q is not a field: use type, name, url, timestamp, properties.<path>, "+
			"user.uid, user.email, user.display_name or user.properties.<path>", c.Field)
	}
	cond := condition{field: field, op: c.Op}
	vpath := path + ".value"
	raw := bytes.TrimSpace(c.Value)
	switch c.Op {
	case "":
		return condition{}, invalid(path+".op", "required")
	case OpEq, OpNeq:
		v, err := scalar(vpath, raw, field)
		if err != nil {
			return condition{}, err
		}
		cond.values = []Value{v}
	case OpContains, OpNotContains, OpStartsWith, OpEndsWith, OpMatches:
		if field.Root == FieldTimestamp {
			return condition{}, invalid(path+".op", "timestamp is a time: compare it with eq, neq, gt, gte, lt, lte or exists")
		}
		s, err := stringValue(vpath, raw)
		if err != nil {
			return condition{}, err
		}
		if c.Op == OpMatches {
			if len(s) > MaxPatternLength {
				return condition{}, invalid(vpath, "pattern is %d bytes, over the limit of %d", len(s), MaxPatternLength)
			}
			table, err := compileRegex(s)
			if err != nil {
				return condition{}, invalid(vpath, "%v", err)
			}
			cond.regex = table
		}
		cond.values = []Value{{Kind: KindString, Str: s}}
	case OpGt, OpGte, OpLt, OpLte:
		v, err := scalar(vpath, raw, field)
		if err != nil {
			return condition{}, err
		}
		if v.Kind != KindNumber {
			return condition{}, invalid(vpath, "%s needs a number (or, for timestamp, an RFC 3339 time)", c.Op)
		}
		cond.values = []Value{v}
	case OpExists:
		cond.want = true
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &cond.want); err != nil {
				return condition{}, invalid(vpath, "exists takes true, false or no value")
			}
		}
	case OpIn:
		var items []json.RawMessage
		if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
			return condition{}, invalid(vpath, "in needs a JSON array of values")
		}
		if len(items) == 0 || len(items) > MaxInValues {
			return condition{}, invalid(vpath, "in needs 1 to %d values, got %d", MaxInValues, len(items))
		}
		for k, item := range items {
			v, err := scalar(fmt.Sprintf("%s[%d]", vpath, k), item, field)
			if err != nil {
				return condition{}, err
			}
			cond.values = append(cond.values, v)
		}
	default:
		return condition{}, invalid(path+".op", "unknown operator %q: use eq, neq, contains, not_contains, starts_with, "+
			"ends_with, matches, gt, gte, lt, lte, exists or in", c.Op)
	}
	return cond, nil
}

// scalar decodes a comparison operand: a string, number, boolean or null.
// For the timestamp field, an RFC 3339 string becomes Unix milliseconds, the
// unit events carry it in.
func scalar(path string, raw []byte, field Field) (Value, error) {
	if len(raw) == 0 {
		return Value{}, invalid(path, "required")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return Value{}, invalid(path, "not valid JSON: %v", err)
	}
	switch x := v.(type) {
	case string:
		if len(x) > MaxStringValue {
			return Value{}, invalid(path, "string is %d bytes, over the limit of %d", len(x), MaxStringValue)
		}
		if field.Root == FieldTimestamp {
			t, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return Value{}, invalid(path, "timestamp values are RFC 3339 times or Unix milliseconds: %v", err)
			}
			return Value{Kind: KindNumber, Num: float64(t.UnixMilli())}, nil
		}
		return Value{Kind: KindString, Str: x}, nil
	case float64:
		return Value{Kind: KindNumber, Num: x}, nil
	case bool:
		if x {
			return Value{Kind: KindTrue}, nil
		}
		return Value{Kind: KindFalse}, nil
	case nil:
		return Value{Kind: KindNull}, nil
	default:
		return Value{}, invalid(path, "must be a string, number, boolean or null")
	}
}

func stringValue(path string, raw []byte) (string, error) {
	var s string
	if len(raw) == 0 {
		return "", invalid(path, "required")
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid(path, "must be a string")
	}
	if s == "" {
		return "", invalid(path, "must not be empty")
	}
	if len(s) > MaxStringValue {
		return "", invalid(path, "string is %d bytes, over the limit of %d", len(s), MaxStringValue)
	}
	return s, nil
}
