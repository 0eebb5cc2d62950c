package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// tokenRecord holds a DSM device token, which lets a login skip the OTP of
// two-factor authentication. The token is a secret: it never appears in
// an error.
type tokenRecord struct {
	V     int    `json:"v"`
	Token string `json:"token"`
}

func (r *tokenRecord) version() int { return r.V }

// SetDeviceToken stores the device token DSM issued for the NAS of that
// name, replacing any earlier one.
func (db *DB) SetDeviceToken(nas, token string) error {
	k, err := nameKey("nas", nas)
	if err != nil {
		return fmt.Errorf("set device token: %w", err)
	}
	if token == "" {
		return fmt.Errorf("set device token of nas %q: empty token", nas)
	}
	v, err := encode(&tokenRecord{V: recordVersion, Token: token})
	if err != nil {
		return err
	}
	if err := db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketTokens).Put(k, v) }); err != nil {
		return fmt.Errorf("set device token of nas %q: %w", nas, err)
	}
	return nil
}

// DeviceToken returns the stored device token of the NAS; ok is false when
// there is none.
func (db *DB) DeviceToken(nas string) (token string, ok bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(nas))
		if v == nil {
			return nil
		}
		var r tokenRecord
		if err := decode(v, &r); err != nil {
			return fmt.Errorf("decode device token of nas %q: %w", nas, err)
		}
		token, ok = r.Token, true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("read device token: %w", err)
	}
	return token, ok, nil
}

// DeleteDeviceToken forgets the device token of the NAS, for instance when
// DSM rejected it; deleting a missing token is not an error.
func (db *DB) DeleteDeviceToken(nas string) error {
	if err := db.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketTokens).Delete([]byte(nas)) }); err != nil {
		return fmt.Errorf("delete device token of nas %q: %w", nas, err)
	}
	return nil
}
