package httpapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookwire/hookwire/engine/ingest"
	"github.com/hookwire/hookwire/engine/model"
	"github.com/hookwire/hookwire/engine/store"
)

// Fullstory's batch import, as its official clients drive it: POST
// /v2/events/batch creates a job, the client polls GET /v2/events/batch/{id}
// until the job is COMPLETED, then reads what it imported from …/imports
// (or, for a FAILED job, what it did not from …/errors). hookwire's import
// is all or nothing and durable before it answers, so a job it creates is
// COMPLETED at once, and a batch it refuses creates none (a 4xx, which
// the clients report as the job's error).

// acceptImportJob accepts a batch's events as POST /v1/events would, and
// answers with the job the clients look for besides the usual counts.
func (a *API) acceptImportJob(ctx *fasthttp.RequestCtx, events []model.Event, bodyBytes int) {
	// The key's rate first: a batch over it must not cost a job's write.
	if !a.admit(ctx, len(events)) {
		return
	}
	// The results are built and stored before the events are handed over
	// (the writer owns them then), and the job is found only once the
	// answer names it: a job left by a refusal below is never asked for.
	results := make([]json.RawMessage, len(events))
	for i := range events {
		r, err := ingest.FullstoryImport(&events[i])
		if err != nil {
			a.fail(ctx, err, "")
			return
		}
		results[i] = r
	}
	job := &store.ImportJob{ID: model.NewID("job_"), Created: time.Now().UTC()}
	if err := a.store.PutImportJob(job, results); err != nil {
		a.fail(ctx, err, "")
		return
	}
	res, ok := a.write(ctx, ingest.Batch{Events: events}, bodyBytes)
	if !ok {
		if err := a.store.DeleteImportJob(job); err != nil {
			a.logger.Warn("removing the import job of a refused batch (it expires anyway)", "job_id", job.ID, "err", err)
		}
		return
	}
	writeJSON(ctx, fasthttp.StatusAccepted, map[string]any{
		"accepted": res.Accepted, "duplicates": res.Duplicates, "job": jobMetadata(job)})
}

// getImportJob is GET /v2/events/batch/{id}: the job's status and counts.
func (a *API) getImportJob(ctx *fasthttp.RequestCtx, id string) {
	job, err := a.store.GetImportJob(id)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"job": jobMetadata(job), "imports": job.Records, "errors": 0})
}

// getImportJobImports is GET /v2/events/batch/{id}/imports: one page of
// the events the job imported, as Fullstory answers them; page_token is
// the next_page_token of the page before.
func (a *API) getImportJobImports(ctx *fasthttp.RequestCtx, id string) {
	args := ctx.QueryArgs()
	if !requireKnownQuery(ctx, "page_token", "include_schema") {
		return
	}
	job, err := a.store.GetImportJob(id)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	page := 0
	if token := args.Peek("page_token"); len(token) > 0 {
		n, err := strconv.Atoi(string(token))
		if err != nil || n < 0 || n >= job.Pages {
			writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "page_token: not a next_page_token of this job")
			return
		}
		page = n
	}
	results, err := a.store.ImportJobPage(id, page)
	if err != nil {
		a.fail(ctx, err, "")
		return
	}
	out := map[string]any{"results": results, "total_records": strconv.Itoa(job.Records)}
	if page+1 < job.Pages {
		out["next_page_token"] = strconv.Itoa(page + 1)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// getImportJobErrors is GET /v2/events/batch/{id}/errors: a job hookwire
// created imported every event, so there are none.
func (a *API) getImportJobErrors(ctx *fasthttp.RequestCtx, id string) {
	if !requireKnownQuery(ctx, "page_token") {
		return
	}
	if _, err := a.store.GetImportJob(id); err != nil {
		a.fail(ctx, err, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"results": []any{}, "total_records": "0"})
}

// jobMetadata is Fullstory's JobMetadata for a job.
func jobMetadata(job *store.ImportJob) map[string]any {
	created := job.Created.Format(time.RFC3339Nano)
	return map[string]any{"id": job.ID, "status": "COMPLETED", "created": created, "finished": created}
}
