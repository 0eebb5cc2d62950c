// Package synology is a client for the Synology DSM Web API calls snapd needs: share and
// LUN snapshots, Snapshot Replication plans and DSM's own retention policies.
//
// The wire protocol, and the choices made where DSM is undocumented, are in DSM-API.md
// (its Decisions table is followed). Choices this package adds:
//
//   - Every request is a POST form to the path SYNO.API.Info reports. SYNO.API.Info is
//     asked at /webapi/query.cgi (it answers there on DSM 6 and 7) once per session, so
//     a re-login also re-discovers paths and versions. Each call uses the highest version
//     this client speaks that the NAS offers: SYNO.API.Auth up to 7, Share.Snapshot list
//     2, everything else 1. An API missing from SYNO.API.Info (Snapshot Replication not
//     installed) and DSM codes 102–104 match ErrUnsupported.
//   - Values of JSON-format APIs are JSON texts (strings quoted). SYNO.API.Info and
//     SYNO.API.Auth take strings raw; `_sid` and `SynoToken` are always raw.
//   - Login sends account, passwd, session (default "snapd"), format=cookie and
//     enable_syno_token=yes; with a stored device token also device_id, device_name and
//     the `did` cookie; LoginOTP adds otp_code and enable_device_token=yes. The device id
//     is read from `device_id` (DSM 7), `did` (DSM 6) or the `did` cookie.
//   - One session per Client. Calls that meet DSM codes 105, 106, 107, 119 or 150 share a
//     single fresh login and retry once; a second failure is returned. Login answers
//     400–411 are never retried.
//   - Reads (lists, login, API discovery) retry network errors, timeouts, HTTP 429 and 5xx
//     with capped exponential backoff and full jitter. Mutations are never retried after a
//     transport failure: when the request was written (httptrace WroteRequest) the error
//     wraps ErrUncertain; when it was certainly not sent (dial, TLS) the plain error is
//     returned. An HTTP 5xx, an oversized, unparseable or shapeless answer to a mutation
//     is uncertain too, as DSM may have carried it out first. Redirects are not followed.
//   - A share snapshot list is read in pages of 500. A list that ends before DSM's
//     `total`, pages that overlap (fewer distinct snapshots than `total`), a LUN
//     snapshot list shorter than its `count`, and any snapshot name that does not parse
//     are errors, so no caller prunes on an incomplete or garbled list.
//   - Per-item failures of a delete come back as *PartialError: in a success:true answer
//     alone, in a success:false answer wrapping the *APIError too.
//   - TLS is always checked by hand in VerifyConnection, so a refused certificate yields a
//     *TLSError with the presented fingerprint and the option that would fix it. With a
//     pin only the pin is checked. A pin with a CA file: the pin wins.
//   - Plan.TargetName is the plan's `target_id` (the share name for share plans), falling
//     back to the main site's `target_name`; Plan.Mode is DSM's numeric sync mode as text;
//     LastSync is the newest finished record of `sync_report`.
//   - LUN snapshots are taken with taken_by "snapd".
//   - DSMRetention reads SYNO.DisasterRecovery.Retention get v1 (a Snapshot Replication
//     API, asked about in SYNO.API.Info with the others) with type "share" and the share
//     name, or type "lun" and the LUN's UUID; the LUN form is a guess. The model is a
//     guess from one live sample: tid -1 means no retention task is set up (Active
//     false, and the counts are only DSM's defaults); any other tid means DSM's own
//     retention prunes the target with the counts given. An answer without tid is
//     ErrProtocol; counts may be numbers or strings. Codes 402 and 18990531 from this API
//     are taken to mean an unknown share or LUN (ErrNotFound), also a guess.
//   - Error strings and log lines are scrubbed of the password, session ids, SynoTokens,
//     device ids and OTP codes; the URL never carries them.
package synology
