package model

import (
	"encoding/json"
	"errors"
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
		Triggers []trigger `json:"triggers"`
		Types    []string  `json:"event_types"`
		Dest     *struct {
			URL string `json:"url"`
		} `json:"destination"`
	}
	for _, tc := range []struct{ body, path, message string }{
		{`{"triggers":[{"event":"a"},{"event":"b","where":[{"field":"x"},{"field":7}]}]}`,
			"triggers[1].where[1].field", "must be a string, got JSON number"},
		{`{"triggers":[{"event":"a","where":"x"}]}`, "triggers[0].where", "must be an array, got JSON string"},
		{`{"triggers":[{"event":"a"},{"event":"b","min_count":1.5}]}`, "triggers[1].min_count", "must be a number, got JSON number 1.5"},
		{`{"event_types":["a",2]}`, "event_types[1]", "must be a string, got JSON number"},
		{`{"destination":"x"}`, "destination", "must be an object, got JSON string"},
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
