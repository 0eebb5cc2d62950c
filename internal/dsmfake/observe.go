package dsmfake

import (
	"net/http"
	"net/url"
	"time"
)

// maxLog bounds the request log so a long-running fake does not grow without limit.
const maxLog = 10000

// Request is one entry of the request log.
type Request struct {
	Time             time.Time
	HTTPMethod, Path string
	API, Method      string
	Version          int
	Params           url.Values  // merged query + form, raw strings as received (passwords redacted as "***")
	Cookie           bool        // sid came from the cookie
	Code             int         // DSM error code answered, 0 = success, -1 = dropped / HTTP error
	Header           http.Header // request headers as received
}

// record appends to the request log.
func (n *NAS) record(r Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.log) >= maxLog {
		n.log = append(n.log[:0], n.log[len(n.log)-maxLog/2:]...)
	}
	n.log = append(n.log, r)
}

// Count returns how many requests matched api and method ("" matches any), faulted ones
// included.
func (n *NAS) Count(api, method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := 0
	for k, v := range n.counts {
		if (api == "" || k[0] == api) && (method == "" || k[1] == method) {
			total += v
		}
	}
	return total
}

// Requests returns a copy of the request log, oldest first (the newest 10000 at most).
func (n *NAS) Requests() []Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Request(nil), n.log...)
}

// ResetCounts clears the request counters and the request log.
func (n *NAS) ResetCounts() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.counts = map[[2]string]int{}
	n.log = nil
}
