package session

import (
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"

	"github.com/hookwire/hookwire/filters"
)

// lookupRaw finds path in raw JSON (valid and compact, as ingest stores
// properties) and returns the value there, decoding only that value. It is
// the hot path of every predicate that reads properties: decoding whole
// property objects into maps for one field was a fifth of the CPU under
// load. Objects are searched by key (the last of duplicate keys wins, as in
// encoding/json); a numeric segment indexes an array.
func lookupRaw(raw []byte, path []string) filters.Value {
	v := raw
	for _, key := range path {
		if len(v) == 0 {
			return filters.Value{}
		}
		switch v[0] {
		case '{':
			v = memberOf(v, key)
		case '[':
			v = elementOf(v, key)
		default:
			return filters.Value{}
		}
		if v == nil {
			return filters.Value{}
		}
	}
	return leaf(v)
}

// memberOf returns the value of key in the object at the start of b.
func memberOf(b []byte, key string) []byte {
	var found []byte
	i := 1
	for i < len(b) && b[i] != '}' {
		kEnd := skipString(b, i)
		if kEnd < 0 || kEnd >= len(b) || b[kEnd] != ':' {
			return nil
		}
		k := b[i:kEnd]
		vStart := kEnd + 1
		vEnd := skipValue(b, vStart)
		if vEnd < 0 {
			return nil
		}
		if keyEquals(k, key) {
			found = b[vStart:vEnd]
			// The last of duplicate keys wins, but a later one spells
			// the key in its bytes or with an escape: with neither in
			// the rest of the object, this one is the answer (most
			// lookups stop here instead of reading the whole object).
			if rest := aliasString(b[vEnd:]); !strings.Contains(rest, key) && strings.IndexByte(rest, '\\') < 0 {
				return found
			}
		}
		i = vEnd
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return found
}

// elementOf returns element key (a decimal index) of the array at b.
func elementOf(b []byte, key string) []byte {
	want, err := strconv.Atoi(key)
	if err != nil || want < 0 || len(key) > 9 {
		return nil
	}
	i, n := 1, 0
	for i < len(b) && b[i] != ']' {
		end := skipValue(b, i)
		if end < 0 {
			return nil
		}
		if n == want {
			return b[i:end]
		}
		n++
		i = end
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	return nil
}

// keyEquals compares a quoted JSON key with key, unescaping only when the
// key has escapes.
func keyEquals(quoted []byte, key string) bool {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			return json.Unmarshal(quoted, &s) == nil && s == key
		}
	}
	return string(inner) == key
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		return j
	}
}

// leaf decodes one JSON value into a field value.
func leaf(v []byte) filters.Value {
	if len(v) == 0 {
		return filters.Value{}
	}
	switch v[0] {
	case '"':
		inner := v[1 : len(v)-1]
		for _, c := range inner {
			if c == '\\' || c >= 0x80 {
				var s string
				if json.Unmarshal(v, &s) != nil {
					return filters.Value{}
				}
				return filters.Value{Kind: filters.KindString, Str: s}
			}
		}
		return filters.Value{Kind: filters.KindString, Str: aliasString(inner)}
	case '{':
		return filters.Value{Kind: filters.KindObject}
	case '[':
		return filters.Value{Kind: filters.KindArray}
	case 't':
		return filters.Value{Kind: filters.KindTrue}
	case 'f':
		return filters.Value{Kind: filters.KindFalse}
	case 'n':
		return filters.Value{Kind: filters.KindNull}
	}
	n, err := strconv.ParseFloat(aliasString(v), 64)
	if err != nil {
		return filters.Value{}
	}
	return filters.Value{Kind: filters.KindNumber, Num: n}
}

// aliasString is b as a string without copying. The event's JSON is never
// written after decoding, and a Value lives for one evaluation, so the
// string never sees its bytes change.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
