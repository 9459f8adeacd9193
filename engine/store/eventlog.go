package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// eventLog holds the accepted events not yet evaluated: segment files of
// checksummed records, appended by the single ingest writer (one write and
// one fdatasync per group commit) and retired whole once every record in
// them is evaluated.
//
// A retired segment is renamed a spare (up to maxSpareSegments; its records
// never replay again) and later renamed to become the next active segment,
// overwritten from the start (as PostgreSQL recycles WAL files and RocksDB
// its logs): writing over blocks the file already has changes no metadata,
// so a group commit's fdatasync flushes data alone instead of committing
// the file system's journal too, which halved the sync's CPU and latency
// here (bench/README.md).
//
// It lives beside Badger, not in it: every event passing through an LSM
// tree was written to its WAL, its memtable, an L0 table and compactions,
// only to be deleted a second later. That churn was a quarter of the CPU
// and the source of the latency tail of everything else Badger writes
// (fired markers, delivery attempts), all of which wait in one write queue.
//
//	record = uint32(len(payload) | recordNamesSegment) uint32(crc32c(segment, seq, payload)) uint64(seq) payload
//
// The checksum covers the segment's number, so what a reused file held
// before never passes for a record of its new segment. (Records of logs
// written before segments were reused lack the flag; their checksum is
// crc32c(seq, payload).)
//
// The last segment ends at its first record cut short or failing its
// checksum: a write the crash interrupted (never acknowledged), or what a
// reused file held before. It is cut off at open. An older segment was
// cut to its records' length when it filled, so anything wrong in it is
// corruption, and open fails.
type eventLog struct {
	dir          string
	sync         bool
	segmentBytes int64
	logger       *slog.Logger

	// writeMu is held by a write (with the segment change it may make) and
	// by close. The file is written outside mu, so that a sync, which
	// needs mu only to find the active file, never waits for a write: under
	// load a 21 KB pwrite took up to 12 ms at times, and a sync that
	// waited for it held up every request of its groups (the syncer waited
	// up to 39 ms for mu). Taken before syncMu.
	writeMu sync.Mutex
	// trimMu is held by a trim: segments retire outside mu, one trim at a
	// time.
	trimMu sync.Mutex
	// syncMu is held by a sync and by a segment change, so that a sync
	// never meets a closed file; taken before mu.
	syncMu   sync.Mutex
	mu       sync.Mutex
	segments []*segment // oldest first; the last is the active one
	active   *os.File
	size     int64    // of the active segment's records
	reused   int64    // the active segment's file size when it was a spare's
	spares   []uint64 // numbers of retired segments kept for reuse, oldest first
	broken   error    // a failed write: the file may hold part of a record

	// outstanding are the seqs not yet evaluated, ascending from head
	// (evaluated ones before the first outstanding are dropped as head
	// moves); evaluated below is everything's watermark.
	outstanding []uint64
	evaluated   []bool
	head        int
	lastSeq     uint64
}

type segment struct {
	number  uint64
	first   uint64 // seq of its first record (0: none yet)
	records int
	done    int
	legacy  bool // written before segments were reused: never reused
}

// The event log's segment size: DefaultEventLogSegmentBytes unless
// Options say otherwise, and no less than MinEventLogSegmentBytes.
const (
	DefaultEventLogSegmentBytes = 32 << 20
	MinEventLogSegmentBytes     = 64 << 10
)

const (
	recordHeader          = 16
	segmentSuffix         = ".log"
	spareSuffix           = ".spare"
	maxEventRecordPayload = 1 << 30
	// recordNamesSegment, in a record's length, says its checksum covers
	// the segment number.
	recordNamesSegment = 1 << 31
	// maxSpareSegments bounds the retired segments kept for reuse: one
	// is enough while evaluation keeps up; the second covers a segment
	// filling while the one before it still has events being evaluated.
	maxSpareSegments = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errLogCorrupt = errors.New("store: event log corrupt")

func segmentPath(dir string, number uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", number, segmentSuffix))
}

// numbered is the number of a segment or spare file named
// <number><suffix>.
func numbered(name, suffix string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, suffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

func sparePath(dir string, number uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", number, spareSuffix))
}

// openEventLog checks every segment (cutting off a torn tail) and starts a
// fresh active segment; replay then reads what the older ones hold. Records
// below watermark are known to be evaluated.
func openEventLog(dir string, sync bool, logger *slog.Logger, watermark uint64) (*eventLog, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: event log: %w", err)
	}
	l := &eventLog{dir: dir, sync: sync, segmentBytes: DefaultEventLogSegmentBytes, logger: logger}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: event log: %w", err)
	}
	var numbers []uint64
	for _, e := range names {
		if n, ok := numbered(e.Name(), segmentSuffix); ok {
			numbers = append(numbers, n)
		}
		if n, ok := numbered(e.Name(), spareSuffix); ok {
			l.spares = append(l.spares, n)
		}
	}
	slices.Sort(numbers)
	slices.Sort(l.spares)
	for len(l.spares) > maxSpareSegments {
		os.Remove(sparePath(dir, l.spares[0]))
		l.spares = l.spares[1:]
	}
	for i, n := range numbers {
		seg := &segment{number: n}
		if err := l.readSegment(seg, i == len(numbers)-1, watermark, nil); err != nil {
			return nil, err
		}
		if seg.records == 0 {
			os.Remove(segmentPath(dir, n))
			continue
		}
		l.segments = append(l.segments, seg)
	}
	next := uint64(1)
	if len(numbers) > 0 {
		next = numbers[len(numbers)-1] + 1
	}
	if err := l.startSegment(next); err != nil {
		return nil, err
	}
	return l, nil
}

// readSegment reads one segment, counting its records and handing them to
// replay when it is set; in the last one a torn tail is cut off.
func (l *eventLog) readSegment(seg *segment, last bool, watermark uint64, replay func(uint64, []byte) error) error {
	path := segmentPath(l.dir, seg.number)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("store: event log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var offset int64
	header := make([]byte, recordHeader)
	var payload []byte
	for {
		_, err := io.ReadFull(r, header)
		if errors.Is(err, io.EOF) {
			return nil
		}
		n := binary.LittleEndian.Uint32(header[0:4])
		namesSegment := n&recordNamesSegment != 0
		n &^= recordNamesSegment
		sum := binary.LittleEndian.Uint32(header[4:8])
		seq := binary.LittleEndian.Uint64(header[8:16])
		if err == nil && n <= maxEventRecordPayload {
			payload = slices.Grow(payload[:0], int(n))[:n]
			_, err = io.ReadFull(r, payload)
		}
		// A segment's records are all of one kind, its first one's.
		valid := err == nil && n <= maxEventRecordPayload && (offset == 0 || seg.legacy != namesSegment)
		if valid && namesSegment {
			valid = recordSum(seg.number, seq, payload) == sum
		} else if valid {
			valid = legacyRecordSum(seq, payload) == sum
		}
		if valid && offset == 0 {
			seg.legacy = !namesSegment
		}
		if !valid {
			if !last {
				return fmt.Errorf("%w: %s at byte %d", errLogCorrupt, path, offset)
			}
			if fi, err := f.Stat(); err == nil && fi.Size() > offset {
				l.logger.Info("event log: cutting off the last segment's unacknowledged tail (a write the crash interrupted, or what a reused file held before)",
					"segment", path, "offset", offset, "bytes", fi.Size()-offset)
			}
			if err := f.Truncate(offset); err != nil {
				return fmt.Errorf("store: event log: %w", err)
			}
			return f.Sync()
		}
		switch {
		case replay != nil:
			if seq >= watermark {
				if err := replay(seq, payload); err != nil {
					return err
				}
			}
		default:
			if seg.first == 0 {
				seg.first = seq
			}
			seg.records++
			l.lastSeq = max(l.lastSeq, seq)
			if seq < watermark {
				seg.done++
			} else {
				l.outstanding = append(l.outstanding, seq)
				l.evaluated = append(l.evaluated, false)
			}
		}
		offset += recordHeader + int64(n)
	}
}

func recordSum(segment, seq uint64, payload []byte) uint32 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], segment)
	binary.LittleEndian.PutUint64(b[8:], seq)
	return crc32.Update(crc32.Checksum(b[:], castagnoli), castagnoli, payload)
}

// legacyRecordSum is the checksum of records written before segments were
// reused.
func legacyRecordSum(seq uint64, payload []byte) uint32 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seq)
	return crc32.Update(crc32.Checksum(b[:], castagnoli), castagnoli, payload)
}

// sealRecords fills in the checksums of framed records (appendRecord) for
// the segment they are written to.
func sealRecords(records []byte, segment uint64) {
	for len(records) >= recordHeader {
		n := binary.LittleEndian.Uint32(records[0:4]) &^ recordNamesSegment
		seq := binary.LittleEndian.Uint64(records[8:16])
		end := recordHeader + int(n)
		binary.LittleEndian.PutUint32(records[4:8], recordSum(segment, seq, records[recordHeader:end]))
		records = records[end:]
	}
}

// startSegment opens a new active segment, a spare renamed when there is
// one (and makes its name durable before anything is written to it: a
// spare's records under its new name would otherwise be lost in a crash
// that kept the old one).
func (l *eventLog) startSegment(number uint64) error {
	path := segmentPath(l.dir, number)
	var reused int64
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if len(l.spares) > 0 {
		spare := sparePath(l.dir, l.spares[0])
		l.spares = l.spares[1:]
		if fi, err := os.Stat(spare); err == nil && os.Rename(spare, path) == nil {
			reused, flags = fi.Size(), os.O_WRONLY
		} else {
			os.Remove(spare)
		}
	}
	f, err := os.OpenFile(path, flags, 0o640)
	if err != nil {
		return fmt.Errorf("store: event log: %w", err)
	}
	if l.sync {
		if err := syncDir(l.dir); err != nil {
			f.Close()
			return err
		}
	}
	if l.active != nil {
		l.active.Close()
	}
	l.active, l.size, l.reused = f, 0, reused
	l.segments = append(l.segments, &segment{number: number})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: event log: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: event log: sync %s: %w", dir, err)
	}
	return nil
}

// appendRecord frames one record onto dst: the header, then the payload
// that encode appends. The checksum is filled in by write, which knows
// the segment.
func appendRecord(dst []byte, seq uint64, encode func([]byte) []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, recordHeader)...)
	dst = encode(dst)
	payload := dst[start+recordHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload))|recordNamesSegment)
	binary.LittleEndian.PutUint64(dst[start+8:], seq)
	return dst
}

// write appends framed records (appendRecord) holding seqs in one write,
// sealing them for the active segment. They are durable once a later
// syncWritten returns. Called by one goroutine at a time (the ingest
// writer), while another may sync.
func (l *eventLog) write(seqs []uint64, records []byte) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	if l.broken != nil {
		l.mu.Unlock()
		return l.broken
	}
	seg, active, offset := l.segments[len(l.segments)-1], l.active, l.size
	l.mu.Unlock()
	sealRecords(records, seg.number)
	if _, err := active.WriteAt(records, offset); err != nil {
		if isNoSpace(err) && l.undoWrite(active, offset) == nil {
			return fmt.Errorf("%w: %w", errWriteTakenBack, err)
		}
		return l.fail(fmt.Errorf("store: event log write (restart to recover): %w", err))
	}
	l.mu.Lock()
	if seg.first == 0 && len(seqs) > 0 {
		seg.first = seqs[0]
	}
	seg.records += len(seqs)
	for _, seq := range seqs {
		l.outstanding = append(l.outstanding, seq)
		l.evaluated = append(l.evaluated, false)
		l.lastSeq = max(l.lastSeq, seq)
	}
	l.size += int64(len(records))
	full, next := l.size >= l.segmentBytes, seg.number+1
	l.mu.Unlock()
	if full {
		return l.rollover(next)
	}
	return nil
}

// errWriteTakenBack: a write found the file system full and was undone;
// the log is whole and takes the next write.
var errWriteTakenBack = errors.New("store: event log: a write found no room and was taken back")

// undoWrite takes back a write the file system had no room for: the
// records it completed before running out would otherwise replay after a
// crash, though their requests were refused, and the next write goes to
// the same offset. Cutting the file there (what a reused file held past
// it is of no use) frees the blocks the write took, so the log goes on
// once there is space; the cut is synced, as the length is what ends the
// last segment.
func (l *eventLog) undoWrite(active *os.File, offset int64) error {
	if err := active.Truncate(offset); err != nil {
		return err
	}
	if err := active.Sync(); err != nil {
		return err
	}
	l.mu.Lock()
	l.reused = min(l.reused, offset)
	l.mu.Unlock()
	return nil
}

// rollover makes the full segment durable, cut to its records' length (a
// reused file may be longer), and starts the next one. It holds syncMu,
// so no sync runs on a file it closes.
func (l *eventLog) rollover(number uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	full, size, reused := l.active, l.size, l.reused
	l.mu.Unlock()
	if reused > size {
		if err := full.Truncate(size); err != nil {
			return l.fail(fmt.Errorf("store: event log (restart to recover): %w", err))
		}
	}
	if l.sync || reused > size {
		// The length is metadata, so a full sync: an older segment must
		// end at its last record.
		if err := full.Sync(); err != nil {
			return l.fail(fmt.Errorf("store: event log sync (restart to recover): %w", err))
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.startSegment(number)
}

// syncWritten makes every record written so far durable (when the log
// syncs). Writes may go on meanwhile; they wait for the next sync.
func (l *eventLog) syncWritten() error {
	if !l.sync {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	active, broken := l.active, l.broken
	l.mu.Unlock()
	if broken != nil {
		return broken
	}
	if err := datasync(active); err != nil {
		return l.fail(fmt.Errorf("store: event log sync (restart to recover): %w", err))
	}
	return nil
}

// fail marks the log broken: a file may hold part of a record, or data the
// disk did not confirm. Only a restart (which checks the files) recovers.
func (l *eventLog) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken == nil {
		l.broken = err
	}
	return l.broken
}

// trim counts records as evaluated and retires every segment, except the
// active one, whose records all are: kept as a spare, or deleted.
// beforeDelete runs first (the store syncs Badger, so the dedupe keys of
// those events outlive them).
func (l *eventLog) trim(seqs []uint64, beforeDelete func() error) error {
	l.trimMu.Lock()
	defer l.trimMu.Unlock()
	retiring, spareRoom := l.countEvaluated(seqs)
	if len(retiring) == 0 {
		return nil
	}
	// Outside mu: beforeDelete syncs Badger and the renames touch the
	// directory, and the writer and the syncer need mu meanwhile (held
	// through them, they waited up to 39 ms under load). No one else
	// touches a retiring segment: it is not the active one, and only a
	// trim retires.
	if err := beforeDelete(); err != nil {
		return err
	}
	var spares []uint64
	var errs []error
	retired := make(map[*segment]bool, len(retiring))
	for _, seg := range retiring {
		// Renamed (or deleted) unsynced: if a crash undoes it, its
		// records replay again, which their sessions skip.
		if !seg.legacy && len(spares) < spareRoom &&
			os.Rename(segmentPath(l.dir, seg.number), sparePath(l.dir, seg.number)) == nil {
			spares = append(spares, seg.number)
			retired[seg] = true
			continue
		}
		if err := os.Remove(segmentPath(l.dir, seg.number)); err != nil {
			errs = append(errs, err)
			continue
		}
		retired[seg] = true
	}
	l.mu.Lock()
	l.spares = append(l.spares, spares...)
	l.segments = slices.DeleteFunc(l.segments, func(seg *segment) bool { return retired[seg] })
	l.mu.Unlock()
	return errors.Join(errs...)
}

// countEvaluated counts seqs as evaluated and returns the segments, other
// than the active one, whose records all are, and how many more spares
// may be kept.
func (l *eventLog) countEvaluated(seqs []uint64) (retiring []*segment, spareRoom int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seq := range seqs {
		// The segment holding seq is the last one whose first record is at
		// or before it.
		i, found := slices.BinarySearchFunc(l.segments, seq, func(s *segment, seq uint64) int {
			switch {
			case s.first == 0 || s.first > seq:
				return 1
			case s.first < seq:
				return -1
			}
			return 0
		})
		if !found {
			i--
		}
		if i >= 0 && i < len(l.segments) {
			l.segments[i].done++
		}
		if j, ok := slices.BinarySearch(l.outstanding[l.head:], seq); ok {
			l.evaluated[l.head+j] = true
		}
	}
	for l.head < len(l.outstanding) && l.evaluated[l.head] {
		l.head++
	}
	if l.head > 4096 && l.head > len(l.outstanding)/2 {
		l.outstanding = append(l.outstanding[:0], l.outstanding[l.head:]...)
		l.evaluated = append(l.evaluated[:0], l.evaluated[l.head:]...)
		l.head = 0
	}
	for i, seg := range l.segments {
		if i < len(l.segments)-1 && seg.records > 0 && seg.done >= seg.records {
			retiring = append(retiring, seg)
		}
	}
	return retiring, maxSpareSegments - len(l.spares)
}

// replay hands every record written before open and not known to be
// evaluated to fn, oldest first.
func (l *eventLog) replay(fn func(seq uint64, payload []byte) error) error {
	l.mu.Lock()
	older := slices.Clone(l.segments[:len(l.segments)-1])
	watermark := l.watermarkLocked()
	l.mu.Unlock()
	for _, seg := range older {
		if err := l.readSegment(&segment{number: seg.number}, false, watermark, fn); err != nil {
			return err
		}
	}
	return nil
}

// watermark is a seq below which every record is evaluated.
func (l *eventLog) watermark() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.watermarkLocked()
}

func (l *eventLog) watermarkLocked() uint64 {
	if l.head < len(l.outstanding) {
		return l.outstanding[l.head]
	}
	return l.lastSeq + 1
}

// close cuts a reused active segment to its records, so that the next
// open finds no tail to cut off.
func (l *eventLog) close() error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		return nil
	}
	var err error
	if l.reused > l.size && l.broken == nil {
		err = l.active.Truncate(l.size)
		if err == nil && l.sync {
			err = l.active.Sync()
		}
	}
	err = errors.Join(err, l.active.Close())
	l.active = nil
	return err
}
