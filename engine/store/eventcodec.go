package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// Event log records are written in a compact binary form: re-marshalling
// every accepted event as JSON was a tenth of the engine's CPU. Records
// written by earlier versions (a JSON array) are still read.
//
//	record = 'E' 0x01 uvarint(count) event*
//	event  = bytes(id) bytes(session) bytes(type) bytes(name) bytes(url)
//	         varint(unix seconds) uvarint(nanoseconds) bytes(properties)
//	         0x00 | 0x01 bytes(uid) bytes(email) bytes(display name) bytes(properties)
//	bytes  = uvarint(length) octets
const logRecordV1 = "E\x01"

var errBadLogRecord = errors.New("store: malformed event log record")

// appendLogRecord encodes events onto dst.
func appendLogRecord(dst []byte, events []model.Event) []byte {
	dst = append(dst, logRecordV1...)
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for i := range events {
		e := &events[i]
		dst = appendBytes(dst, e.ID)
		dst = appendBytes(dst, e.SessionID)
		dst = appendBytes(dst, e.Type)
		dst = appendBytes(dst, e.Name)
		dst = appendBytes(dst, e.URL)
		dst = binary.AppendVarint(dst, e.Timestamp.Unix())
		dst = binary.AppendUvarint(dst, uint64(e.Timestamp.Nanosecond()))
		dst = appendBytes(dst, e.Properties)
		if e.User == nil {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = appendBytes(dst, e.User.UID)
		dst = appendBytes(dst, e.User.Email)
		dst = appendBytes(dst, e.User.DisplayName)
		dst = appendBytes(dst, e.User.Properties)
	}
	return dst
}

func appendBytes[T ~string | ~[]byte](dst []byte, b T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decodeLogRecord decodes a record of either form. The events own their
// memory (rec may be reused by the store after).
func decodeLogRecord(rec []byte) ([]model.Event, error) {
	if len(rec) > 0 && rec[0] == '[' {
		var events []model.Event
		return events, json.Unmarshal(rec, &events)
	}
	if len(rec) < len(logRecordV1) || string(rec[:len(logRecordV1)]) != logRecordV1 {
		return nil, errBadLogRecord
	}
	r := logReader{b: rec[len(logRecordV1):]}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) { // every event takes more than one byte
		return nil, errBadLogRecord
	}
	events := make([]model.Event, n)
	for i := range events {
		e := &events[i]
		e.ID, e.SessionID, e.Type, e.Name, e.URL = r.str(), r.str(), r.str(), r.str(), r.str()
		sec, nsec := r.varint(), r.uvarint()
		if nsec >= 1e9 {
			r.err = errBadLogRecord
		}
		e.Timestamp = time.Unix(sec, int64(nsec)).UTC()
		e.Properties = r.raw()
		switch r.byte() {
		case 0:
		case 1:
			e.User = &model.User{UID: r.str(), Email: r.str(), DisplayName: r.str(), Properties: r.raw()}
		default:
			r.err = errBadLogRecord
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if len(r.b) != 0 {
		return nil, errBadLogRecord
	}
	return events, nil
}

// logReader reads a record's fields; the first problem sticks in err and
// later reads return zero values.
type logReader struct {
	b   []byte
	err error
}

func (r *logReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *logReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *logReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0xff
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *logReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *logReader) str() string { return string(r.bytes()) }

// raw is a JSON object member: nil when empty, as the JSON form had it.
func (r *logReader) raw() json.RawMessage {
	b := r.bytes()
	if len(b) == 0 {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

func (r *logReader) fail() {
	if r.err == nil {
		r.err = errBadLogRecord
	}
	r.b = nil
}
