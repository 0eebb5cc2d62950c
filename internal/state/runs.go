package state

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RunRecord is the last run of a policy, for status, check and catch-up.
type RunRecord struct {
	Policy  string    `json:"policy"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Outcome string    `json:"outcome"`
	Error   string    `json:"error,omitempty"`
	// Scheduled is the schedule fire time this run served; zero for a
	// one-off run.
	Scheduled time.Time `json:"scheduled,omitzero"`
	// NewestSnapshot is the time of the newest own snapshot the run saw.
	NewestSnapshot time.Time `json:"newest_snapshot,omitzero"`
}

type runRecord struct {
	V              int       `json:"v"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end,omitzero"`
	Outcome        string    `json:"outcome"`
	Error          string    `json:"error,omitempty"`
	Scheduled      time.Time `json:"scheduled,omitzero"`
	NewestSnapshot time.Time `json:"newest_snapshot,omitzero"`
}

func (r *runRecord) version() int { return r.V }

type scheduleRecord struct {
	V    int       `json:"v"`
	Time time.Time `json:"time"`
}

func (r *scheduleRecord) version() int { return r.V }

// SetLastRun replaces the last run of r.Policy.
func (db *DB) SetLastRun(r RunRecord) error {
	k, err := nameKey("policy", r.Policy)
	if err != nil {
		return fmt.Errorf("set last run: %w", err)
	}
	v, err := encode(&runRecord{
		V: recordVersion, Start: utc(r.Start), End: utc(r.End), Outcome: r.Outcome, Error: r.Error,
		Scheduled: utc(r.Scheduled), NewestSnapshot: utc(r.NewestSnapshot),
	})
	if err != nil {
		return err
	}
	if err := db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLastRun).Put(k, v) }); err != nil {
		return fmt.Errorf("set last run of policy %q: %w", r.Policy, err)
	}
	return nil
}

// LastRun returns the last run of policy; ok is false when it never ran.
func (db *DB) LastRun(policy string) (r RunRecord, ok bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLastRun)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(policy))
		if v == nil {
			return nil
		}
		ok = true
		r, err = decodeRun([]byte(policy), v)
		return err
	})
	if err != nil {
		return RunRecord{}, false, fmt.Errorf("read last run: %w", err)
	}
	return r, ok, nil
}

// LastRuns returns the last run of every policy that ran, by policy name,
// including policies no longer in the config.
func (db *DB) LastRuns() (map[string]RunRecord, error) {
	out := map[string]RunRecord{}
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLastRun)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r, err := decodeRun(k, v)
			if err != nil {
				return err
			}
			out[r.Policy] = r
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read last runs: %w", err)
	}
	return out, nil
}

func decodeRun(k, v []byte) (RunRecord, error) {
	var r runRecord
	if err := decode(v, &r); err != nil {
		return RunRecord{}, fmt.Errorf("decode last run of policy %q: %w", k, err)
	}
	return RunRecord{
		Policy: string(k), Start: r.Start, End: r.End, Outcome: r.Outcome, Error: r.Error,
		Scheduled: r.Scheduled, NewestSnapshot: r.NewestSnapshot,
	}, nil
}

// SetLastScheduled records the last schedule fire of policy that snapd saw,
// from which catch-up counts the fires missed while it was down.
func (db *DB) SetLastScheduled(policy string, t time.Time) error {
	k, err := nameKey("policy", policy)
	if err != nil {
		return fmt.Errorf("set last schedule fire: %w", err)
	}
	v, err := encode(&scheduleRecord{V: recordVersion, Time: t.UTC()})
	if err != nil {
		return err
	}
	if err := db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSchedule).Put(k, v) }); err != nil {
		return fmt.Errorf("set last schedule fire of policy %q: %w", policy, err)
	}
	return nil
}

// LastScheduled returns the last schedule fire of policy; ok is false when
// none was recorded.
func (db *DB) LastScheduled(policy string) (t time.Time, ok bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSchedule)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(policy))
		if v == nil {
			return nil
		}
		var r scheduleRecord
		if err := decode(v, &r); err != nil {
			return fmt.Errorf("decode last schedule fire of policy %q: %w", policy, err)
		}
		t, ok = r.Time, true
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read last schedule fire: %w", err)
	}
	return t, ok, nil
}

// utc converts t to UTC and keeps the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
