package state

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Entry is one line of the action journal.
type Entry struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Policy     string    `json:"policy,omitempty"`
	NAS        string    `json:"nas,omitempty"`
	Target     string    `json:"target,omitempty"`
	Action     string    `json:"action"`
	Snapshot   string    `json:"snapshot,omitempty"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Count      int       `json:"count,omitempty"`
}

// entryRecord is the stored form of an Entry; the sequence is the key.
// V and Time come first and Policy right after: peekHeader relies on it.
type entryRecord struct {
	V          int       `json:"v"`
	Time       time.Time `json:"time"`
	Policy     string    `json:"policy,omitempty"`
	NAS        string    `json:"nas,omitempty"`
	Target     string    `json:"target,omitempty"`
	Action     string    `json:"action"`
	Snapshot   string    `json:"snapshot,omitempty"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	Count      int       `json:"count,omitempty"`
}

func (r *entryRecord) version() int { return r.V }

// Append adds the entries in one transaction and returns their sequence
// numbers, in order. A zero Time becomes now; times are stored in UTC.
// Every entry needs an Action and an Outcome.
func (db *DB) Append(e ...Entry) ([]uint64, error) {
	if len(e) == 0 {
		return nil, nil
	}
	var seqs []uint64
	err := db.update(func(tx *bolt.Tx) error {
		var err error
		seqs, err = db.appendTx(tx, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append to journal: %w", err)
	}
	return seqs, nil
}

// appendTx writes entries inside tx, for Append and CompleteIntent. It
// keeps the newest time ever appended and records each entry dated before
// it (a clock stepped back) as a backstep: every other entry is at least as
// new as all entries before it, which lets time-bounded walks stop early.
func (db *DB) appendTx(tx *bolt.Tx, es []Entry) ([]uint64, error) {
	b := tx.Bucket(bucketJournal)
	// Keys only ever grow, so full pages waste nothing: every split
	// happens at the end.
	b.FillPercent = 1.0
	maxTime, err := journalMaxTime(tx)
	if err != nil {
		return nil, err
	}
	seqs := make([]uint64, 0, len(es))
	for i, e := range es {
		if e.Action == "" || e.Outcome == "" {
			return nil, fmt.Errorf("entry %d of %d: action and outcome are required", i+1, len(es))
		}
		if e.Time.IsZero() {
			e.Time = db.now()
		}
		seq, err := b.NextSequence()
		if err != nil {
			return nil, err
		}
		v, err := encode(&entryRecord{
			V: recordVersion, Time: e.Time.UTC(), Policy: e.Policy, NAS: e.NAS, Target: e.Target,
			Action: e.Action, Snapshot: e.Snapshot, Outcome: e.Outcome, Error: e.Error,
			DurationMS: e.DurationMS, Count: e.Count,
		})
		if err != nil {
			return nil, err
		}
		if err := b.Put(seqKey(seq), v); err != nil {
			return nil, err
		}
		if e.Time.Before(maxTime) {
			if err := tx.Bucket(bucketBacksteps).Put(seqKey(seq), backstepValue); err != nil {
				return nil, err
			}
		} else {
			maxTime = e.Time
		}
		seqs = append(seqs, seq)
	}
	v, err := encode(&timeRecord{V: recordVersion, Time: maxTime.UTC()})
	if err != nil {
		return nil, err
	}
	return seqs, tx.Bucket(bucketMeta).Put(keyMaxTime, v)
}

// backstepValue marks an entry dated before an earlier entry.
var backstepValue = []byte(`{"v":1}`)

// timeRecord is a stored point in time.
type timeRecord struct {
	V    int       `json:"v"`
	Time time.Time `json:"time"`
}

func (r *timeRecord) version() int { return r.V }

// journalMaxTime is the newest time ever appended, zero for a new journal.
func journalMaxTime(tx *bolt.Tx) (time.Time, error) {
	v := tx.Bucket(bucketMeta).Get(keyMaxTime)
	if v == nil {
		return time.Time{}, nil
	}
	var r timeRecord
	if err := decode(v, &r); err != nil {
		return time.Time{}, fmt.Errorf("decode journal max time: %w", err)
	}
	return r.Time, nil
}

// isBackstep reports whether the entry at key k was dated before an
// earlier entry; a read-only view of an old file without the bucket
// answers true, which only makes walks longer.
func isBackstep(tx *bolt.Tx, k []byte) bool {
	b := tx.Bucket(bucketBacksteps)
	return b == nil || b.Get(k) != nil
}

// Filter selects journal entries; zero fields select everything.
type Filter struct {
	Policy string
	// Since keeps entries whose Time is not before it.
	Since time.Time
	// Limit, when positive, keeps only the newest Limit matching entries
	// (like journalctl -n); they are still returned oldest first.
	Limit int
}

// Entries returns the matching entries in commit order, newest last. It
// walks back from the newest entry and stops once Limit entries matched,
// or at the first entry older than Since that is not a backstep (all
// entries before it are older still), so a read costs what it returns,
// not the size of the journal; Since stays exact after clock steps.
func (db *DB) Entries(f Filter) ([]Entry, error) {
	var out []Entry
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJournal)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			t, p, ok := peekHeader(v)
			var e Entry
			if !ok {
				var err error
				if e, err = decodeEntry(k, v); err != nil {
					return err
				}
				t, p = e.Time, e.Policy
			}
			if t.Before(f.Since) {
				if !isBackstep(tx, k) {
					break
				}
				continue
			}
			if f.Policy != "" && p != f.Policy {
				continue
			}
			if ok {
				var err error
				if e, err = decodeEntry(k, v); err != nil {
					return err
				}
			}
			out = append(out, e)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// decodeEntry decodes one stored entry; the decoded strings are copies, so
// the entry outlives the transaction.
func decodeEntry(k, v []byte) (Entry, error) {
	seq, ok := keySeq(k)
	if !ok {
		return Entry{}, fmt.Errorf("journal key %x is not a sequence number", k)
	}
	var r entryRecord
	if err := decode(v, &r); err != nil {
		return Entry{}, fmt.Errorf("decode journal entry %d: %w", seq, err)
	}
	return Entry{
		Seq: seq, Time: r.Time, Policy: r.Policy, NAS: r.NAS, Target: r.Target,
		Action: r.Action, Snapshot: r.Snapshot, Outcome: r.Outcome, Error: r.Error,
		DurationMS: r.DurationMS, Count: r.Count,
	}, nil
}

// entryPrefix starts every entry written by encode.
var (
	entryPrefix  = []byte(`{"v":1,"time":"`)
	policyPrefix = []byte(`,"policy":"`)
)

// peekHeader reads time and policy of a stored entry without decoding the
// whole value, which makes skipping entries in a long walk cheap. ok is
// false for anything unusual (another version, an escaped policy name):
// the caller then decodes the value fully, so peekHeader only saves time,
// it never changes a result.
func peekHeader(v []byte) (t time.Time, policy string, ok bool) {
	rest, found := bytes.CutPrefix(v, entryPrefix)
	if !found {
		return time.Time{}, "", false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 {
		return time.Time{}, "", false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:i]))
	if err != nil {
		return time.Time{}, "", false
	}
	rest, found = bytes.CutPrefix(rest[i+1:], policyPrefix)
	if !found {
		return t, "", true
	}
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return time.Time{}, "", false
	}
	return t, string(rest[:j]), true
}

// entryTime is the time of a stored entry.
func entryTime(k, v []byte) (time.Time, error) {
	if t, _, ok := peekHeader(v); ok {
		return t, nil
	}
	e, err := decodeEntry(k, v)
	return e.Time, err
}

// compactBatch is the most entries one compaction transaction deletes, so
// a compaction never holds the writer lock for long and Appends interleave
// with it. A variable only so that tests can make batches small.
var compactBatch = 10_000

// Thresholds of the file rewrite after a compaction: free pages of at
// least half the file and at least rewriteMinFree bytes.
const rewriteMinFree = 1 << 20

// Compact deletes every journal entry whose Time is before the given time,
// in batches of one transaction each, and returns how many it deleted.
// Intents, last runs and tokens are kept. When the deletions left free
// pages of at least half the file (and 1 MiB), it then rewrites the file
// compactly (see Rewrite). An entry that cannot be decoded stops the
// compaction with an error naming its key; what was deleted so far stays
// deleted.
func (db *DB) Compact(before time.Time) (removed int, err error) {
	removed, err = db.deleteBefore(before)
	if err != nil {
		return removed, err
	}
	if removed == 0 {
		return 0, nil
	}
	need, err := db.needsRewrite()
	if err != nil || !need {
		return removed, err
	}
	return removed, db.Rewrite()
}

// deleteBefore deletes the old entries from the oldest on, up to the first
// entry that is not old: after it, only backsteps can be old, and those
// are looked up in their own bucket. So it reads what it deletes plus the
// backsteps, not the whole journal.
func (db *DB) deleteBefore(before time.Time) (int, error) {
	removed := 0
	var stop []byte
	for done := false; !done; {
		n := 0
		err := db.updateSolo(func(tx *bolt.Tx) error {
			var old [][]byte
			c := tx.Bucket(bucketJournal).Cursor()
			for k, v := c.First(); ; k, v = c.Next() {
				if k == nil {
					done = true
					break
				}
				if len(old) == compactBatch {
					break
				}
				t, err := entryTime(k, v)
				if err != nil {
					return err
				}
				if !t.Before(before) {
					stop, done = bytes.Clone(k), true
					break
				}
				old = append(old, bytes.Clone(k))
			}
			n = len(old)
			return deleteEntries(tx, old)
		})
		if err != nil {
			return removed, fmt.Errorf("compact journal: %w", err)
		}
		removed += n
	}
	if stop == nil {
		return removed, nil
	}
	for done := false; !done; {
		n := 0
		err := db.updateSolo(func(tx *bolt.Tx) error {
			j := tx.Bucket(bucketJournal)
			var old, gone [][]byte
			c := tx.Bucket(bucketBacksteps).Cursor()
			for k, _ := c.Seek(stop); ; k, _ = c.Next() {
				if k == nil {
					done = true
					break
				}
				if len(old)+len(gone) == compactBatch {
					stop = bytes.Clone(k)
					break
				}
				v := j.Get(k)
				if v == nil {
					gone = append(gone, bytes.Clone(k))
					continue
				}
				t, err := entryTime(k, v)
				if err != nil {
					return err
				}
				if t.Before(before) {
					old = append(old, bytes.Clone(k))
				}
			}
			for _, k := range gone {
				if err := tx.Bucket(bucketBacksteps).Delete(k); err != nil {
					return err
				}
			}
			n = len(old)
			return deleteEntries(tx, old)
		})
		if err != nil {
			return removed, fmt.Errorf("compact journal: %w", err)
		}
		removed += n
	}
	return removed, nil
}

// deleteEntries deletes journal entries and their backstep marks.
func deleteEntries(tx *bolt.Tx, keys [][]byte) error {
	j, bs := tx.Bucket(bucketJournal), tx.Bucket(bucketBacksteps)
	for _, k := range keys {
		if err := j.Delete(k); err != nil {
			return err
		}
		if err := bs.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
