package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookwire/hookwire/engine/model"
)

// Fullstory batch import jobs: what each POST /v2/events/batch took, kept
// for Fullstory's own clients, which poll a job's status and then read back
// what it imported (GET /v2/events/batch/{id}, …/imports).

var (
	prefixImportJob     = []byte("importjob/")
	prefixImportJobPage = []byte("importjobpage/") // apart, so that no job id names a page
)

// ImportJobRetention is how long a job's status and results are kept: the
// clients poll within seconds; a day leaves room for one that restarts.
const ImportJobRetention = 24 * time.Hour

// importJobPageBytes bounds one page of a job's results, so that reading
// the results of a 10 MiB batch is a few requests of a megabyte.
const importJobPageBytes = 1 << 20

// ImportJob is one batch import: its results are stored in Pages pages.
type ImportJob struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Records int       `json:"records"`
	Pages   int       `json:"pages"`
}

// PutImportJob stores a job and its results (one JSON value each, in the
// batch's order), cut into pages. Nobody asks for the job before it
// returns: its id reaches a client only in the answer written after.
func (s *Store) PutImportJob(job *ImportJob, results []json.RawMessage) error {
	if err := s.RefuseWrites(); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch() // splits what one transaction cannot hold
	defer wb.Cancel()
	job.Records, job.Pages = len(results), 0
	put := func(k, value []byte) error {
		return wb.SetEntry(badger.NewEntry(k, value).WithTTL(ImportJobRetention))
	}
	page := []byte{'['}
	flush := func() error {
		err := put(importJobPageKey(job.ID, job.Pages), append(page, ']'))
		job.Pages++
		page = []byte{'['}
		return err
	}
	for _, r := range results {
		if len(page) > 1 && len(page)+len(r) > importJobPageBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(page) > 1 {
			page = append(page, ',')
		}
		page = append(page, r...)
	}
	if err := flush(); err != nil {
		return err
	}
	b, err := json.Marshal(job)
	if err != nil {
		return err
	}
	if err := put(key(prefixImportJob, job.ID), b); err != nil {
		return err
	}
	return wb.Flush()
}

// GetImportJob returns a job, or an error wrapping model.ErrNotFound.
func (s *Store) GetImportJob(id string) (*ImportJob, error) {
	job := new(ImportJob)
	if err := s.getImportJobRecord(key(prefixImportJob, id), id, func(b []byte) error { return json.Unmarshal(b, job) }); err != nil {
		return nil, err
	}
	return job, nil
}

// ImportJobPage returns page n of a job's results: a JSON array.
func (s *Store) ImportJobPage(id string, n int) (json.RawMessage, error) {
	var page json.RawMessage
	err := s.getImportJobRecord(importJobPageKey(id, n), id, func(b []byte) error {
		page = append(json.RawMessage(nil), b...)
		return nil
	})
	return page, err
}

// DeleteImportJob removes a job whose events were not accepted after all.
func (s *Store) DeleteImportJob(job *ImportJob) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	if err := wb.Delete(key(prefixImportJob, job.ID)); err != nil {
		return err
	}
	for n := range job.Pages {
		if err := wb.Delete(importJobPageKey(job.ID, n)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// getImportJobRecord reads the record at k of import job id.
func (s *Store) getImportJobRecord(k []byte, id string, read func([]byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: no import job %s", model.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return item.Value(read)
	})
}

func importJobPageKey(id string, n int) []byte {
	return key(prefixImportJobPage, id+"/"+strconv.Itoa(n))
}
