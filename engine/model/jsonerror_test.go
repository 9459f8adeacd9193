package model

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestDescribeTypeErrorFindsTheIndexes: a member of the wrong kind is named
// by its path with the array indexes of the first such member, and worded
// as the JSON it wants.
func TestDescribeTypeErrorFindsTheIndexes(t *testing.T) {
	type condition struct {
		Field string `json:"field"`
	}
	type trigger struct {
		Event string      `json:"event"`
		Where []condition `json:"where"`
		Min   int         `json:"min_count"`
	}
	type definition struct {
		Triggers []trigger         `json:"triggers"`
		Types    []string          `json:"event_types"`
		Fields   map[string]string `json:"fields"`
		Dest     *struct {
			URL string `json:"url"`
		} `json:"destination"`
	}
	for _, tc := range []struct{ body, path, message string }{
		{`{"triggers":[{"event":"a"},{"event":"b","where":[{"field":"x"},{"field":7}]}]}`,
			"triggers[1].where[1].field", "must be a string, got JSON number"},
		{`{"triggers":[{"event":"a","where":"x"}]}`, "triggers[0].where", "must be an array, got JSON string"},
		{`{"triggers":[{"event":"a"},{"event":"b","min_count":1.5}]}`, "triggers[1].min_count", "must be a whole number (digits only, no fraction or exponent) in range, got JSON number 1.5"},
		{`{"event_types":["a",2]}`, "event_types[1]", "must be a string, got JSON number"},
		{`{"destination":"x"}`, "destination", "must be an object, got JSON string"},
		{`{"fields":{"page":"event.url","cart":5}}`, "fields.cart", "must be a string, got JSON number"},
		{`{"Triggers":{}}`, "Triggers", "must be an array, got JSON object"},
	} {
		var d definition
		err := json.Unmarshal([]byte(tc.body), &d)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Fatalf("%s: %v, want a type error", tc.body, err)
		}
		path, message := DescribeTypeError([]byte(tc.body), te)
		if path != tc.path || message != tc.message {
			t.Errorf("%s: %q, %q; want %q, %q", tc.body, path, message, tc.path, tc.message)
		}
	}
}

// TestLocateUnknownFieldFollowsTheTypes: the member refused as unknown is
// found where the type decoded there lacks it, through arrays and
// pointers, past members of the same name that are known elsewhere or sit
// inside free-form JSON.
func TestLocateUnknownFieldFollowsTheTypes(t *testing.T) {
	type condition struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}
	type trigger struct {
		Event  string            `json:"event"`
		Where  []condition       `json:"where"`
		Config json.RawMessage   `json:"config"`
		Labels map[string]string `json:"labels"`
	}
	type definition struct {
		Name     string    `json:"name"`
		Triggers []trigger `json:"triggers"`
		Dest     *struct {
			URL string `json:"url"`
		} `json:"destination"`
	}
	type Base struct {
		ID string `json:"id"`
	}
	type withBase struct {
		Base
		Name string `json:"name"`
	}
	if path, known, ok := LocateUnknownField([]byte(`{"id":"x","nmae":"y"}`), reflect.TypeFor[withBase](), "nmae"); !ok ||
		path != "nmae" || strings.Join(known, " ") != "id name" {
		t.Errorf("embedded struct: %q %v %v, want nmae [id name]", path, known, ok)
	}
	typ := reflect.TypeFor[definition]()
	for _, tc := range []struct{ body, name, path, known string }{
		{`{"name":"a","colour":1}`, "colour", "colour", "name triggers destination"},
		{`{"triggers":[{"event":"a","config":{"url":1}},{"event":"b","where":[{"field":"x","value":{"url":2}},{"url":3}]}]}`,
			"url", "triggers[1].where[1].url", "field value"},
		{`{"triggers":[{"labels":{"url":"x"}}],"destination":{"URL":"x","url2":"y"}}`, "url2", "destination.url2", "url"},
		{`{"name":"a"}`, "name", "", ""},
	} {
		path, known, ok := LocateUnknownField([]byte(tc.body), typ, tc.name)
		if tc.path == "" {
			if ok {
				t.Errorf("%s: found %q, want nothing (every %q is known)", tc.body, path, tc.name)
			}
			continue
		}
		if !ok || path != tc.path || strings.Join(known, " ") != tc.known {
			t.Errorf("%s: %q %v %v, want %q [%s]", tc.body, path, known, ok, tc.path, tc.known)
		}
	}
}
