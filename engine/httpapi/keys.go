package httpapi

import (
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
	if err := model.DecodeObject(ctx.PostBody(), &body); err != nil {
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
