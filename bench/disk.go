package bench

import "time"

// The server's histograms the report reads: how long an accepted request
// took, and its two waits on the disk: the event log's fdatasync, which
// every accepted request waits for, and the Badger transaction that
// records matches before their webhooks leave.
const (
	ingestRequestMetric = "hookwire_ingest_request_seconds"
	eventLogSyncMetric  = "hookwire_event_log_sync_seconds"
	sessionCommitMetric = "hookwire_session_commit_seconds"
	// slowDiskBound is the bucket bound (seconds) above which a wait is
	// slow: longer than the whole latency target.
	slowDiskBound = 0.025
)

var serverHistograms = []string{ingestRequestMetric, eventLogSyncMetric, sessionCommitMetric}

// diskSample is how many syncs and how many commits had taken longer
// than slowDiskBound by a moment of the run.
type diskSample struct {
	at             time.Time
	syncs, commits float64
}

// watchDisk samples the server's slow disk waits every interval until
// stop is called, which returns the samples. A stall of the webhook
// latency can then be laid beside the disk's waits at that moment.
func watchDisk(base string, interval time.Duration) (stop func() []diskSample) {
	done := make(chan struct{})
	out := make(chan []diskSample, 1)
	go func() {
		var samples []diskSample
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if syncs, commits, err := scrapeSlowDiskWaits(base); err == nil {
				samples = append(samples, diskSample{at: time.Now(), syncs: syncs, commits: commits})
			}
			select {
			case <-done:
				out <- samples
				return
			case <-tick.C:
			}
		}
	}()
	return func() []diskSample {
		close(done)
		return <-out
	}
}

// scrapeSlowDiskWaits reads the number of syncs and of commits over
// slowDiskBound.
func scrapeSlowDiskWaits(base string) (syncs, commits float64, err error) {
	hs, err := scrapeHistograms(base, eventLogSyncMetric, sessionCommitMetric)
	if err != nil {
		return 0, 0, err
	}
	return hs[eventLogSyncMetric].over(slowDiskBound), hs[sessionCommitMetric].over(slowDiskBound), nil
}

// slowByTenth counts the slow waits (which picks syncs or commits) that
// ended in each tenth of [start, start+d): a sample's increase is placed
// midway between it and the sample before.
func slowByTenth(samples []diskSample, which func(diskSample) float64, start time.Time, d time.Duration) []int {
	out := make([]int, 10)
	for i := 1; i < len(samples); i++ {
		n := which(samples[i]) - which(samples[i-1])
		if n <= 0 {
			continue
		}
		mid := samples[i-1].at.Add(samples[i].at.Sub(samples[i-1].at) / 2)
		if mid.Before(start) || !mid.Before(start.Add(d)) {
			continue
		}
		out[min(int(10*mid.Sub(start)/d), 9)] += int(n)
	}
	return out
}

func slowSyncs(s diskSample) float64   { return s.syncs }
func slowCommits(s diskSample) float64 { return s.commits }
