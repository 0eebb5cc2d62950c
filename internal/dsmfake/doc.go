// Package dsmfake is a fake Synology NAS that speaks the DSM Web API for share snapshots,
// LUN snapshots, Snapshot Replication plans and retention policies, with knobs for sessions
// and faults.
//
// A *NAS is an http.Handler: put it behind httptest.NewServer or NewTLSServer, or run
// cmd/dsmfake. It starts no goroutine of its own and reads its clock only through
// Options.Now, so it works inside a testing/synctest bubble; idle timeouts are evaluated
// lazily on each request.
//
// # Wire behaviour
//
// Routes: /webapi/query.cgi (SYNO.API.Info only), /webapi/auth.cgi (SYNO.API.Auth only),
// /webapi/entry.cgi and /webapi/entry.cgi/<anything> (every API; in the DSM 6 profile not
// SYNO.API.Auth, which answers 102 there). Any other path is HTTP 404, logged loudly. GET
// and POST are both accepted, query and form body merged. Every answer of the API is HTTP
// 200 with Content-Type `application/json; charset="UTF-8"`.
//
// A request line is checked in this order: missing api, method or version → 101; API not
// offered at this path (or a Snapshot Replication API with Options.NoDRPackage) → 102;
// version outside the advertised range → 104; unknown method → 103; in strict mode a value that is not
// valid JSON → 120; then the session (param _sid, else cookie id): none or unknown → 119,
// idle longer than Options.IdleTimeout or expired → 106, kicked → 107, stale → 105, and with
// Options.RequireSynoToken a missing or wrong SynoToken (param or X-SYNO-TOKEN header) →
// 119. A typed value of the wrong JSON type is 120 and a missing required parameter is 114.
// Requests the fake does not understand are logged loudly through Options.Logf, with
// passwords, OTP codes, sids and tokens hidden.
//
// Values of JSON-format APIs are JSON texts. In lenient mode a value that is not valid JSON
// is taken as a raw string (`name=my share`); a raw value that happens to be valid JSON of
// another type (a share called `123`) is taken as that type, as on DSM. SYNO.API.Info and
// SYNO.API.Auth values are always raw (`query=all` is sent raw by every client; a
// JSON-quoted query is accepted too); api, method, version, _sid and SynoToken are never
// decoded.
//
// Profiles (DSM-API.md §1.2, §2.4): DSM 7 offers SYNO.API.Info 1–1 and SYNO.API.Auth 1–7 at
// entry.cgi (auth.cgi also works for Auth) and its login answer carries account, device_id,
// ik_message, is_portal_port, sid and synotoken; DSM 6 offers Info at query.cgi and Auth
// 1–6 at auth.cgi, and a 2FA device id comes back as did. Both offer
// SYNO.Core.Share.Snapshot 1–2 and SYNO.Core.ISCSI.LUN 1–1 at entry.cgi, and, unless
// Options.NoDRPackage says the Snapshot Replication package is not installed, its
// SYNO.DR.Plan 1–3 and SYNO.DisasterRecovery.Retention 1–1 there too (JSON format); every
// version of a method behaves the same.
//
// # Choices where DSM's behaviour is unknown (guesses)
//
//   - Strict-mode rejection and wrongly typed values answer 120 ("invalid parameter").
//   - Login: unknown account or wrong password → 400. After Options.MaxFailedLogins
//     failures of one account every further login of it answers 407, even with the right
//     password, until ResetLoginFailures; a successful login resets the count. A missing
//     OTP answers 403 with errors {"token":…,"types":[{"type":"otp"}]}; a wrong one 404
//     (not counted as a failure). A device id (param device_id or did) issued to the same
//     account skips the OTP. Logins never kick other sessions; 107 only comes from
//     KickSessions.
//   - Logout answers success even with no or an unknown sid.
//   - Share snapshot names use the zone's offset as GMT±HH, or GMT±HHMM for zones with a
//     minutes offset.
//   - The fake never advances its clock itself: a second create on one share within the
//     same second of the NAS clock answers 3301.
//   - Share create: lock defaults to true when snapinfo.lock is absent; worm_lock without a
//     worm_lock_day ≥ 1 answers 403. Over the limit (Options.SnapshotLimit): 3329.
//   - Share list: offset < 0 counts as 0, limit ≤ 0 (including -1) means all. With an empty
//     `additional` only `time` comes back; schedule_snapshot comes with any non-empty
//     `additional` (the documented sample carries it though the library that captured it
//     did not ask for it). worm_lock is true while the WORM period runs;
//     worm_lock_begin/end/day (strings) come whenever the snapshot ever had a WORM period.
//     `locked_app_keys` and `ruuid`/`snap_size` come only when asked in `additional`
//     (locked_app_keys on shares is a guess). Filter rules are "[!]attr==value" (exact) and
//     "[!]attr=value" (contains) over hide, desc, lock, schedule_snapshot, worm_lock and
//     time; an unknown attribute compares as empty.
//   - Share set is a patch inside snapinfo; without snapinfo → 114. An active WORM period
//     can be extended (worm_lock_day counted from now) but not shortened or removed: 3350.
//     Unknown snapshot → 3300.
//   - Share delete deletes what it can. Per-item codes: unknown name 3300, WORM period
//     running 3350, replication-held (locked_app_keys non-empty) 3337, or a code from
//     Fault.ItemFailures. All deleted: {"success":true}. Some failed:
//     {"success":true,"data":[{"<name>":<code>},…]}. All failed: success:false with the
//     first failure's code and errors:[{"<name>":<code>},…]. A locked snapshot deletes.
//   - Unknown share → 402 (SYNO.Core.Share's "no such share").
//   - LUN: unknown LUN → 18990531; over the limit → 18990543; take_snapshot's is_locked
//     defaults to false and snapshots are named SnapShot-<id> with per-LUN ids.
//     delete_snapshot takes snapshot_uuids (array) or snapshot_uuid (one); per-item
//     failures in a success answer: unknown 18990532, replication-held or WORM 18990540;
//     an unknown UUID in the single form is a top-level 18990532. list_snapshot adds
//     locked_app_keys, and is_worm_locked with worm_lock_day "0", only when asked in
//     `additional`. LUN list returns every field of the documented answer (type 263 for
//     all LUNs) and `snapshots` only with additional snapshot_info.
//   - DR plans: unknown plan → 400. list carries the requested blocks under `additional`,
//     no `total`. A sync replicates instantly: it records a SyncRecord and moves the
//     plan's hold, key "SnapshotReplication-synodr-<plan id>", onto the newest snapshot of
//     the plan's target, releasing the snapshot it held before (Snapshot Replication keeps
//     its last common base). It does not take a snapshot itself.
//   - Shuffled list order is a fixed pseudo-random order keyed on each snapshot's name or
//     UUID, so paging through it stays coherent.
//   - SYNO.DisasterRecovery.Retention get takes type ("share", or "lun" for a LUN; any
//     case, as one client sends "Share") and name (the share name, or the LUN's UUID: both
//     guesses for LUNs). It answers {"tid":…,"policyType":…,"retainDay":…,"hourly":…,
//     "daily":…,"weekly":…,"monthly":…,"yearly":…,"recently":…,"schedule":…,"name":…}.
//     The model is a guess built on one sample: tid -1 means no retention task is set up
//     for the target, and the counts are then DSM's defaults from the DSM-API.md §6 sample
//     (retainDay 7, hourly 24, daily 7, weekly 2, monthly 1) with schedule null; any other
//     tid means DSM's own retention prunes the target with the counts given, and schedule
//     is then a daily schedule object. Set it with SetRetention or a seed's retention
//     block. Unknown share → 402, unknown LUN → 18990531, another type → 120.
//
// # Faults
//
// A Fault matches requests by API and method. Latencies of all firing faults add up and
// honour the request context; the first firing fault that replaces the answer wins (Drop,
// HTTPStatus, Body, Redirect, Code, in that precedence within one fault). Drop closes the
// connection through http.Hijacker (an HTTP/2 stream is reset instead). DropAfter runs the
// operation and then closes the connection. ItemFailures make the named snapshots fail in
// a delete. Every request is counted (Count) and logged (Requests, newest 10000), faulted
// ones included; passwd, password and otp_code are redacted as "***".
//
// # Seed and dump
//
// LoadState and DumpState share one YAML schema, decoded strictly: unknown keys and bad
// values are errors naming their line. Times are RFC 3339; durations are Go durations or
// whole days ("7d"). Every key is optional except the names and ids shown:
//
//	options:
//	  profile: dsm7            # or dsm6
//	  zone: Europe/Berlin      # share snapshot names follow its offset and DST
//	  order: newest-first      # oldest-first, newest-first, shuffled
//	  limit: 256               # snapshots per share or LUN
//	  idle_timeout: 30m        # 0 = never
//	  strict: false
//	  require_syno_token: false
//	  no_dr_package: false
//	  max_failed_logins: 5
//	users:
//	  - {name: snapd, password: snapd}
//	  - {name: admin, password: secret, otp: "123456"}   # otp: the account has 2FA
//	shares:
//	  - name: homes
//	    snapshots:
//	      - {time: 2025-06-01T12:00:30Z, desc: x, lock: true, schedule: false, hide: false,
//	         worm_days: 14, worm_begin: 2025-06-01T12:05:00Z, app_keys: [SnapshotReplication-synodr-p]}
//	      - {name: GMT+02-2025.06.02-08.00.30}          # time taken from the name
//	    generate: {every: 1h, count: 8760, end: 2026-01-01T00:00:00Z, desc: hourly, lock_every: 24, schedule: true}
//	    retention: {task_id: 3, policy_type: 0, retain_days: 7, hourly: 24, daily: 7, weekly: 2,
//	                monthly: 1, yearly: 0, recently: 0}   # DSM's own retention; task_id 0 or -1 = none
//	luns:
//	  - uuid: 0b7c6f7e-1111-4c3e-9d5e-000000000001
//	    name: LUN-1
//	    location: /volume1
//	    size: 10737418240
//	    type: BLUN
//	    snapshots:
//	      - {time: 2025-12-24T18:00:00Z, uuid: u-1, id: 1, name: SnapShot-1, desc: x, locked: true,
//	         worm: false, app_keys: [], taken_by: user, app_consistent: false}
//	    generate: {every: 6h, count: 40}
//	    retention: {task_id: 4, retain_days: 30}
//	plans:
//	  - id: p-1
//	    target_type: share     # or lun (target is then the LUN uuid)
//	    target: homes
//	    send_encrypted: false
//	    syncs:
//	      - {time: 2025-06-02T06:00:00Z, lock_snapshot: true, description: x, snapshot: GMT+02-2025.06.02-08.00.30}
//
// generate adds count snapshots every apart, ending at end (default: the NAS clock rounded
// down to every) or starting at start; lock_every N locks every Nth. A seed adds to the
// current state and replaces same-named users, shares, LUNs and plans; nothing changes
// unless the whole seed is valid. Snapshots seeded beyond the limit are kept (and logged):
// creates then fail with the limit error. The dump holds options, users, shares, LUNs,
// their retention policies, plans and their syncs, never sessions, faults or counters.
package dsmfake
