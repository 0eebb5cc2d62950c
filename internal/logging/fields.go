package logging

// The fixed field names every package logs with. Under journald they become the
// journal fields POLICY, NAS, TARGET, SNAPSHOT, ACTION and OUTCOME, so that
// `journalctl POLICY=homes` selects one policy's records.
const (
	FieldPolicy   = "policy"
	FieldNAS      = "nas"
	FieldTarget   = "target"
	FieldSnapshot = "snapshot"
	FieldAction   = "action"
	FieldOutcome  = "outcome"
)

// Identifier is the SYSLOG_IDENTIFIER of every journal record snapd writes, so
// `journalctl -t snapd` works whatever the unit is called.
const Identifier = "snapd"
