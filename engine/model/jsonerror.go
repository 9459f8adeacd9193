package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
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
	next := name
	if at != "" {
		next = at + "." + name
	}
	return findKind(child, names[1:], found, next)
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
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
