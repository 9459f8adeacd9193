package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// DecodeObject decodes body, which must be exactly one JSON object, into v.
// Unknown members are refused, so that a typo ("trigers") is an error and
// not a silent default; so are an empty body, a null (which encoding/json
// would take as "nothing to change") and data after the object. Every
// error is an *InvalidError naming the member at fault where there is one.
func DecodeObject(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return &InvalidError{Message: "request body is empty: send a JSON object", Index: -1}
	case bytes.Equal(trimmed, []byte("null")):
		return &InvalidError{Message: "must be a JSON object, got JSON null", Index: -1}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			path, msg := DescribeTypeError(body, te)
			return &InvalidError{Path: path, Message: msg, Index: -1}
		}
		if path, msg, ok := DescribeUnknownField(body, reflect.TypeOf(v), err); ok {
			return &InvalidError{Path: path, Message: msg, Index: -1}
		}
		return &InvalidError{Message: malformedJSON(err), Index: -1}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &InvalidError{Message: "unexpected data after the JSON object", Index: -1}
	}
	return nil
}

// DecodePatch is DecodeObject for PATCH bodies, whose members are
// pointers: a member given as null would decode as "not given" and leave
// the value as it was, which is not what a client sending {"name": null}
// means, so it is refused, naming the member.
func DecodePatch(body []byte, v any) error {
	if err := DecodeObject(body, v); err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return &InvalidError{Message: malformedJSON(err), Index: -1}
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if string(members[name]) == "null" {
			return &InvalidError{Path: name, Message: "must not be null: leave the member out to keep its value", Index: -1}
		}
	}
	return nil
}

func malformedJSON(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	}
	return "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}
