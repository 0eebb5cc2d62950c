package state

import (
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Intent is an API action about to be sent to a NAS. It is written before
// the call and deleted, together with the journal entries of its outcome,
// after it; an intent still pending at start is an action whose outcome is
// unknown and must be reconciled against the NAS.
type Intent struct {
	ID     uint64    `json:"id"`
	Time   time.Time `json:"time"`
	Policy string    `json:"policy,omitempty"`
	NAS    string    `json:"nas"`
	Target string    `json:"target,omitempty"`
	// Kind is "share" or "lun" (empty for actions without a target kind).
	Kind string `json:"kind,omitempty"`
	// Action is snapshot.create, snapshot.delete, replication.sync or
	// snapshot.set.
	Action string `json:"action"`
	// Snapshots are the names or UUIDs a delete or set acts on.
	Snapshots []string `json:"snapshots,omitempty"`
	// Desc is, for a create, the tagged description by which the new
	// snapshot is found on the NAS.
	Desc string `json:"desc,omitempty"`
}

type intentRecord struct {
	V         int       `json:"v"`
	Time      time.Time `json:"time"`
	Policy    string    `json:"policy,omitempty"`
	NAS       string    `json:"nas"`
	Target    string    `json:"target,omitempty"`
	Kind      string    `json:"kind,omitempty"`
	Action    string    `json:"action"`
	Snapshots []string  `json:"snapshots,omitempty"`
	Desc      string    `json:"desc,omitempty"`
}

func (r *intentRecord) version() int { return r.V }

// BeginIntent stores the intent durably (the commit is fsynced before it
// returns) and returns its id; in.ID is ignored and a zero Time becomes
// now. Kind must be "", "share" or "lun", and Action is required.
func (db *DB) BeginIntent(in Intent) (uint64, error) {
	if in.Action == "" {
		return 0, fmt.Errorf("begin intent: action is required")
	}
	if in.Kind != "" && in.Kind != "share" && in.Kind != "lun" {
		return 0, fmt.Errorf("begin intent: kind %q is not share or lun", in.Kind)
	}
	if in.Time.IsZero() {
		in.Time = db.now()
	}
	v, err := encode(&intentRecord{
		V: recordVersion, Time: in.Time.UTC(), Policy: in.Policy, NAS: in.NAS, Target: in.Target,
		Kind: in.Kind, Action: in.Action, Snapshots: in.Snapshots, Desc: in.Desc,
	})
	if err != nil {
		return 0, err
	}
	var id uint64
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIntents)
		var err error
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(seqKey(id), v)
	})
	if err != nil {
		return 0, fmt.Errorf("begin intent %s: %w", in.Action, err)
	}
	return id, nil
}

// CompleteIntent deletes the pending intent id and appends the entries of
// its outcome in one transaction, so after a crash either the intent is
// still pending or its outcome is journaled, never both nor neither. An
// entry's empty Policy, NAS and Target are taken from the intent. It fails
// with ErrNoIntent, writing nothing, when id is not pending.
func (db *DB) CompleteIntent(id uint64, e ...Entry) error {
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIntents)
		v := b.Get(seqKey(id))
		if v == nil {
			return ErrNoIntent
		}
		in, err := decodeIntent(seqKey(id), v)
		if err != nil {
			return err
		}
		es := slices.Clone(e)
		for i := range es {
			if es[i].Policy == "" {
				es[i].Policy = in.Policy
			}
			if es[i].NAS == "" {
				es[i].NAS = in.NAS
			}
			if es[i].Target == "" {
				es[i].Target = in.Target
			}
		}
		if err := b.Delete(seqKey(id)); err != nil {
			return err
		}
		_, err = db.appendTx(tx, es)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete intent %d: %w", id, err)
	}
	return nil
}

// PendingIntents returns the intents not yet completed, oldest first.
func (db *DB) PendingIntents() ([]Intent, error) {
	var out []Intent
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIntents)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			in, err := decodeIntent(k, v)
			if err != nil {
				return err
			}
			out = append(out, in)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read pending intents: %w", err)
	}
	return out, nil
}

func decodeIntent(k, v []byte) (Intent, error) {
	id, ok := keySeq(k)
	if !ok {
		return Intent{}, fmt.Errorf("intent key %x is not a sequence number", k)
	}
	var r intentRecord
	if err := decode(v, &r); err != nil {
		return Intent{}, fmt.Errorf("decode intent %d: %w", id, err)
	}
	return Intent{
		ID: id, Time: r.Time, Policy: r.Policy, NAS: r.NAS, Target: r.Target, Kind: r.Kind,
		Action: r.Action, Snapshots: r.Snapshots, Desc: r.Desc,
	}, nil
}
