package state

import (
	"encoding/json"
	"fmt"
)

// recordVersion is the version every value is written with and the only
// one this code reads.
const recordVersion = 1

// versioned is a stored record with its "v" field.
type versioned interface{ version() int }

// encode marshals a record; records are plain structs, so this fails only
// on a bug.
func encode(r versioned) ([]byte, error) {
	if r.version() != recordVersion {
		return nil, fmt.Errorf("encode record of version %d, want %d", r.version(), recordVersion)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return b, nil
}

// decode unmarshals a stored value into r and refuses any version but
// recordVersion; callers name the key in the error. The value itself never
// appears in the error: it may hold a token.
func decode(data []byte, r versioned) error {
	if err := json.Unmarshal(data, r); err != nil {
		var h struct {
			V int `json:"v"`
		}
		if json.Unmarshal(data, &h) == nil && h.V != recordVersion {
			return versionError(h.V)
		}
		return err
	}
	if v := r.version(); v != recordVersion {
		return versionError(v)
	}
	return nil
}

func versionError(v int) error {
	if v == 0 {
		return fmt.Errorf("no record version")
	}
	return fmt.Errorf("record version %d is not known to this snapd (it reads version %d)", v, recordVersion)
}
