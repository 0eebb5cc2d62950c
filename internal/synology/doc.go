// Package synology is a client for the Synology DSM Web API calls snapd needs: share and
// LUN snapshots and Snapshot Replication plans.
//
// The wire protocol and the choices taken where DSM is undocumented are described in
// DSM-API.md; the ones this package adds are:
//
//   - Every request is a POST form to the path SYNO.API.Info reports. SYNO.API.Info is
//     asked at /webapi/query.cgi (DSM 6 and 7) once per session, so a re-login also
//     re-discovers paths and versions.
//   - Values of JSON-format APIs are JSON texts (strings quoted); SYNO.API.Info and
//     SYNO.API.Auth parameters, `_sid` and `SynoToken` are sent raw.
//   - Login parameters follow the DSM 7 web UI minus the browser extras: account, passwd,
//     session, format=cookie, enable_syno_token=yes, and device_id/device_name (plus the
//     `did` cookie) when a 2FA device token is configured.
//   - Reads (lists, login) retry network errors, timeouts, HTTP 429 and 5xx with capped
//     exponential backoff and full jitter. Mutations are never retried after a transport
//     failure: when the request was written (httptrace WroteRequest) the error wraps
//     ErrUncertain; when it was certainly not sent the plain network error is returned.
//     An unreadable or unparseable answer to a mutation is uncertain as well, since DSM may
//     have carried it out before the answer went wrong.
//   - A share snapshot list that DSM ends early (fewer snapshots than its `total`), a LUN
//     snapshot list shorter than its `count`, and any snapshot name that does not parse
//     are errors, so that no caller prunes on an incomplete list.
//   - SYNO.API.Info not offering an API (Snapshot Replication not installed) and DSM
//     codes 102–104 map to ErrUnsupported.
//   - Plan.TargetName is the plan's `target_id` (the share name for share plans), falling
//     back to the main site's `target_name`; Plan.Mode is DSM's numeric sync mode as text.
package synology
