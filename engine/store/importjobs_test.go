package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookwire/hookwire/engine/model"
)

// TestImportJobPages: a job's results come back in order, a page at a
// time, each page at most about a megabyte; a deleted job is gone with
// its pages.
func TestImportJobPages(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	results := make([]json.RawMessage, 3000)
	for i := range results {
		results[i] = json.RawMessage(fmt.Sprintf(`{"name":"e%d","properties":{"pad":"%s"}}`, i, strings.Repeat("x", 1000)))
	}
	job := &ImportJob{ID: "job_pages", Created: time.Now().UTC()}
	if err := s.PutImportJob(job, results); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetImportJob(job.ID)
	if err != nil || got.Records != 3000 || got.Pages < 3 {
		t.Fatalf("job %+v, %v: want 3000 records over 3 pages or more", got, err)
	}
	var all []json.RawMessage
	for n := range got.Pages {
		page, err := s.ImportJobPage(job.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > importJobPageBytes+2 {
			t.Fatalf("page %d is %d bytes", n, len(page))
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page, &items); err != nil {
			t.Fatalf("page %d is not a JSON array: %v", n, err)
		}
		all = append(all, items...)
	}
	if len(all) != len(results) {
		t.Fatalf("%d results over the pages, want %d", len(all), len(results))
	}
	for i := range all {
		if string(all[i]) != string(results[i]) {
			t.Fatalf("result %d = %.40s, want %.40s", i, all[i], results[i])
		}
	}

	if err := s.DeleteImportJob(got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetImportJob(job.ID); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a deleted job: %v, want not found", err)
	}
	if _, err := s.ImportJobPage(job.ID, 0); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a deleted job's first page: %v, want not found", err)
	}
}
