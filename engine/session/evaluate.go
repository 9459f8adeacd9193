package session

import (
	"cmp"
	"context"
	"fmt"
	"sync"

	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/streams"
	"github.com/hookwire/hookwire/filters"
	"github.com/hookwire/hookwire/wasm"
)

// evaluation is one event while every stream looks at it: the field
// record buffer and the event's JSON for custom filters (marshalled once).
type evaluation struct {
	event  *model.Event
	values []filters.Value
	// json is the event as custom filters see it, marshalled once, into
	// jsonBuf (kept from event to event).
	json, jsonBuf []byte
	// fields are the event's field values looked up so far: many streams
	// read the same few fields.
	fields []fieldValue
	// candidates is the buffer of the stream index's answer.
	candidates streams.CandidateBuffer
	// valueOf is ev.field, bound once (a method value allocates).
	valueOf func(filters.Field) filters.Value

	// What the turn made, for its commit: messages, segment matches, and
	// whether filter state changed (it must be written before the turn's
	// events leave the log). state is what custom filters reach.
	outgoing     []*model.Delivery
	segments     []segmentMatch
	stateChanged bool
	state        filterState
}

type fieldValue struct {
	text  string
	value filters.Value
}

// evaluations lends evaluation buffers to session actors for one turn.
var evaluations = sync.Pool{New: func() any {
	ev := new(evaluation)
	ev.valueOf = ev.field
	return ev
}}

// endTurn forgets the turn's effects (handed to its commit, not reused)
// and its actor, before the evaluation goes back to the pool.
func (ev *evaluation) endTurn() {
	ev.reset(nil)
	ev.outgoing, ev.segments, ev.stateChanged, ev.state = nil, nil, false, filterState{}
}

func (ev *evaluation) reset(e *model.Event) {
	ev.event = e
	ev.json = nil
	clear(ev.fields)
	ev.fields = ev.fields[:0]
}

// OfferStreams returns what ingest calls on each accepted batch: it notes
// on every event the streams cat's index offers it (model.Event.Offered),
// so that the lookup runs on the core that just decoded the batch, with
// its bytes in the cache, instead of on a session worker later (in the
// standard load's profile, the workers' 0.60 µs per event fell to 0.28;
// the request's goroutine took 0.20 more). A session whose snapshot has
// changed since looks again.
func OfferStreams(cat *streams.Catalog) func(events []model.Event) {
	return func(events []model.Event) {
		snap := cat.Snapshot()
		ev := evaluations.Get().(*evaluation)
		// Every event's positions in one slice: an event keeps its part
		// even when a later append moves the slice (the old array stays).
		var all []int32
		for i := range events {
			e := &events[i]
			ev.reset(e)
			start := len(all)
			all = append(all, snap.Candidates(e.Type, ev.valueOf, &ev.candidates)...)
			e.Offered, e.OfferedBy = all[start:len(all):len(all)], snap
		}
		ev.reset(nil)
		evaluations.Put(ev)
	}
}

// field is the event's value of f, looked up once per event.
func (ev *evaluation) field(f filters.Field) filters.Value {
	for i := range ev.fields {
		if ev.fields[i].text == f.Text {
			return ev.fields[i].value
		}
	}
	v := ev.lookup(f)
	ev.fields = append(ev.fields, fieldValue{text: f.Text, value: v})
	return v
}

var recordBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// match reports whether any of the stream's triggers completes on the
// event: the generated module for the declarative ones, then each filter
// trigger's module (which sees state through the given CallState). A
// failing custom trigger is reported but does not stop the others.
func (ev *evaluation) match(cs *streams.Predicate, state wasm.CallState) (bool, error) {
	// The stream index only offers streams with a key for the event's type,
	// or with filter triggers: only then may the module have nothing to do.
	if cs.Pool != nil && (len(cs.Custom) == 0 || cs.Program.Reacts(ev.event.Type)) {
		ev.values = ev.values[:0]
		for _, f := range cs.Program.Slots {
			ev.values = append(ev.values, ev.field(f))
		}
		buf := recordBuffers.Get().(*[]byte)
		record := filters.AppendRecord((*buf)[:0], ev.values)
		// Counting and sequence triggers keep their progress in the
		// session's state, like custom filters.
		verdict, err := cs.Pool.Match(context.Background(), record, state)
		*buf = record
		recordBuffers.Put(buf)
		if err != nil {
			return false, err
		}
		if verdict > 0 {
			return true, nil
		}
	}
	var firstErr error
	for _, run := range cs.Custom {
		if run.Trigger.Event != "" && run.Trigger.Event != ev.event.Type {
			continue // the trigger sees one type of event
		}
		if ev.json == nil {
			ev.json = ev.event.AppendJSON(ev.jsonBuf[:0])
			ev.jsonBuf = ev.json
		}
		verdict, err := run.Pool.Match(context.Background(), ev.json, state)
		switch {
		case err != nil:
			firstErr = cmp.Or(firstErr, fmt.Errorf("filter %q (trigger %d): %w", run.Trigger.Filter, run.Trigger.Index, err))
		case verdict < 0:
			firstErr = cmp.Or(firstErr, fmt.Errorf("filter %q (trigger %d): %w: hw_match returned %d",
				run.Trigger.Filter, run.Trigger.Index, wasm.ErrGuest, verdict))
		case verdict == wasm.VerdictMatch:
			return true, firstErr
		case verdict != wasm.VerdictNoMatch:
			firstErr = cmp.Or(firstErr, fmt.Errorf("filter %q (trigger %d): %w: %d (want 1 for a match, 0 for none, negative for an error)",
				run.Trigger.Filter, run.Trigger.Index, wasm.ErrVerdict, verdict))
		}
	}
	return false, firstErr
}

func (ev *evaluation) lookup(f filters.Field) filters.Value {
	e := ev.event
	switch f.Root {
	case filters.FieldType:
		return stringValue(e.Type)
	case filters.FieldName:
		return stringValue(e.Name)
	case filters.FieldURL:
		return stringValue(e.URL)
	case filters.FieldTimestamp:
		return filters.Value{Kind: filters.KindNumber, Num: float64(e.Timestamp.UnixMilli())}
	case filters.FieldProperties:
		return lookupRaw(e.Properties, f.Path)
	}
	if e.User == nil {
		return filters.Value{}
	}
	switch f.Root {
	case filters.FieldUserUID:
		return stringValue(e.User.UID)
	case filters.FieldUserEmail:
		return stringValue(e.User.Email)
	case filters.FieldUserDisplayName:
		return stringValue(e.User.DisplayName)
	case filters.FieldUserProperties:
		return lookupRaw(e.User.Properties, f.Path)
	}
	return filters.Value{}
}

// stringValue maps the empty string to absent: ingest drops empty
// optional strings, so "" means the producer did not send the field.
func stringValue(s string) filters.Value {
	if s == "" {
		return filters.Value{}
	}
	return filters.Value{Kind: filters.KindString, Str: s}
}

func arrayIndex(key string, n int) (int, bool) {
	if key == "" || len(key) > 9 {
		return 0, false
	}
	i := 0
	for _, c := range key {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i < n
}
