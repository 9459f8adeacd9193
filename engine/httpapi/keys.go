package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/keys"
	"github.com/hookwire/hookwire/engine/model"
)

// createKey makes an API key; the key is in this answer and nowhere else.
func (a *API) createKey(ctx *fasthttp.RequestCtx) {
	if !requireJSON(ctx) {
		return
	}
	var body struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeBody(ctx.PostBody(), &body); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	rec, key, err := a.keys.Create(body.Name, keys.Role(body.Role))
	if err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, struct {
		*model.APIKey
		Key string `json:"key"`
	}{rec, key})
}

func (a *API) listKeys(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"keys": a.keys.List()})
}

func (a *API) deleteKey(ctx *fasthttp.RequestCtx, id string) {
	if err := a.keys.Delete(id); err != nil {
		a.fail(ctx, err, "invalid_request")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// decodeBody decodes one JSON object, refusing unknown members; a member
// of the wrong kind is named with its path.
func decodeBody(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			path, msg := model.DescribeTypeError(body, te)
			return &model.InvalidError{Path: path, Message: msg, Index: -1}
		}
		if path, msg, ok := model.DescribeUnknownField(body, reflect.TypeOf(v), err); ok {
			return &model.InvalidError{Path: path, Message: msg, Index: -1}
		}
		return &model.InvalidError{Message: "malformed JSON body: " + strings.TrimPrefix(err.Error(), "json: "), Index: -1}
	}
	return nil
}
