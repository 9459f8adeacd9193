package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// DescribeTypeError words encoding/json's complaint that a member of body
// has the wrong kind: where it is, with the array indexes encoding/json
// leaves out (triggers[2].where[0].field, not triggers.where.field), and
// what JSON it wants ("must be a string, got JSON number"), never the Go
// type it decodes into.
func DescribeTypeError(body []byte, te *json.UnmarshalTypeError) (path, message string) {
	message = fmt.Sprintf("must be %s, got JSON %s", JSONKindName(te.Type), te.Value)
	found, _, _ := strings.Cut(te.Value, " ") // "number 1.5" is a number
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if te.Field == "" || dec.Decode(&doc) != nil {
		return te.Field, message
	}
	if p, ok := findKind(doc, strings.Split(te.Field, "."), found, ""); ok {
		return p, message
	}
	return te.Field, message
}

// findKind walks doc along names, through every element of the arrays on
// the way, to the first value (in document order) of JSON kind found.
func findKind(v any, names []string, found, at string) (string, bool) {
	if len(names) == 0 && jsonKindOf(v) == found {
		return at, true
	}
	if arr, ok := v.([]any); ok {
		for i, e := range arr {
			if p, ok := findKind(e, names, found, fmt.Sprintf("%s[%d]", at, i)); ok {
				return p, true
			}
		}
		return "", false
	}
	obj, ok := v.(map[string]any)
	if len(names) == 0 && ok { // encoding/json names a map, not the key whose value is wrong
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if jsonKindOf(obj[k]) == found {
				return joinPath(at, k), true
			}
		}
	}
	if len(names) == 0 || !ok {
		return "", false
	}
	name := names[0]
	child, ok := obj[name]
	if !ok { // encoding/json matches member names regardless of case
		for k, c := range obj {
			if strings.EqualFold(k, name) {
				name, child, ok = k, c, true
				break
			}
		}
	}
	if !ok {
		return "", false
	}
	return findKind(child, names[1:], found, joinPath(at, name))
}

func joinPath(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// jsonKindOf names v's JSON kind as encoding/json's type errors do.
func jsonKindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// JSONKindName words a Go type as the JSON that decodes into it.
func JSONKindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage: any JSON
			return "JSON"
		}
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// 2.5, 1e9 and a number past the type's range all land here.
		return "a whole number (digits only, no fraction or exponent) in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// DescribeUnknownField words encoding/json's complaint (with
// DisallowUnknownFields) that body, decoded into a value of type t, has a
// member t does not: where it is and which members that place takes. ok is
// false for any other error.
func DescribeUnknownField(body []byte, t reflect.Type, err error) (path, message string, ok bool) {
	quoted, isUnknown := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !isUnknown {
		return "", "", false
	}
	name := strings.Trim(quoted, `"`)
	path, known, found := LocateUnknownField(body, t, name)
	if !found {
		return name, "unknown field", true
	}
	return path, "unknown field (not one of: " + strings.Join(known, ", ") + ")", true
}

// LocateUnknownField finds the member encoding/json refused as unknown
// (its error names the member, not where it is): the path of the first
// member called name, in document order, that the type decoded at its
// place does not have, and the members that place does have. body is the
// JSON decoded into a value of type t; ok is false when no such member is
// found.
func LocateUnknownField(body []byte, t reflect.Type, name string) (path string, known []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return unknownFieldIn(dec, t, "", name)
}

// unknownFieldIn reads one value from dec, decoded as t at path at.
func unknownFieldIn(dec *json.Decoder, t reflect.Type, at, name string) (string, []string, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", nil, false
	}
	delim, isDelim := tok.(json.Delim)
	if !isDelim {
		return "", nil, false // a scalar holds no members
	}
	if t == nil || (delim == '{') != (t.Kind() == reflect.Struct || t.Kind() == reflect.Map) ||
		(delim == '[') != (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) ||
		(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) { // json.RawMessage: any JSON
		skipRest(dec)
		return "", nil, false
	}
	if delim == '[' {
		for i := 0; dec.More(); i++ {
			if p, known, ok := unknownFieldIn(dec, t.Elem(), fmt.Sprintf("%s[%d]", at, i), name); ok {
				return p, known, true
			}
		}
		_, _ = dec.Token() // the closing bracket; nothing found either way
		return "", nil, false
	}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return "", nil, false
		}
		key, _ := keyTok.(string)
		next := key
		if at != "" {
			next = at + "." + key
		}
		var member reflect.Type
		if t.Kind() == reflect.Map {
			member = t.Elem()
		} else if f, found := structMember(t, key); found {
			member = f
		} else if key == name {
			return next, structMemberNames(t), true
		}
		if member == nil {
			if !skipValue(dec) {
				return "", nil, false
			}
			continue
		}
		if p, known, ok := unknownFieldIn(dec, member, next, name); ok {
			return p, known, true
		}
	}
	_, _ = dec.Token() // the closing brace; nothing found either way
	return "", nil, false
}

// structMember is the type of t's member that JSON key decodes into, matched
// as encoding/json matches it: by tag or field name, regardless of case.
func structMember(t reflect.Type, key string) (reflect.Type, bool) {
	for _, f := range jsonFields(t) {
		if strings.EqualFold(jsonName(f), key) {
			return f.Type, true
		}
	}
	return nil, false
}

func structMemberNames(t reflect.Type) []string {
	var names []string
	for _, f := range jsonFields(t) {
		names = append(names, jsonName(f))
	}
	return names
}

// jsonFields are the fields of struct t that JSON members decode into, with
// those of an untagged embedded struct in its place, as encoding/json
// promotes them.
func jsonFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		embedded := f.Type
		if embedded.Kind() == reflect.Pointer {
			embedded = embedded.Elem()
		}
		if f.Anonymous && f.Tag.Get("json") == "" && embedded.Kind() == reflect.Struct {
			out = append(out, jsonFields(embedded)...)
			continue
		}
		if jsonName(f) != "" {
			out = append(out, f)
		}
	}
	return out
}

// jsonName is the member name a struct field has in JSON ("" if none).
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch tag {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return tag
}

// skipValue reads one whole value from dec.
func skipValue(dec *json.Decoder) bool {
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	if _, isDelim := tok.(json.Delim); isDelim {
		return skipRest(dec)
	}
	return true
}

// skipRest reads to the end of the object or array whose opening dec has
// just read.
func skipRest(dec *json.Decoder) bool {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return true
}
