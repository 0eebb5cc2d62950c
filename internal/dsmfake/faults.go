package dsmfake

import (
	"fmt"
	"html"
	"net/http"
	"time"
)

// Fault is an injected misbehaviour. A fault applies to requests matching API and Method
// ("" matches any), fires Times times (0 = until cleared), after skipping Skip matching
// requests.
type Fault struct {
	API, Method  string
	Skip, Times  int
	Code         int            // answer success:false with this DSM error code (and Errors, if set)
	Errors       any            // optional `errors` payload of that answer
	HTTPStatus   int            // answer this HTTP status with an HTML body
	Latency      time.Duration  // delay before answering (honours the request context)
	Drop         bool           // close the connection without answering, before doing anything
	DropAfter    bool           // do the operation, then close the connection without answering
	Body         []byte         // answer 200 with exactly this body (garbage, HTML, truncated JSON ...)
	ContentType  string         // with Body
	Redirect     string         // answer 302 to this location
	ItemFailures map[string]int // delete: these snapshot names/uuids fail per item with this code
}

// terminal reports whether the fault replaces the answer.
func (f *Fault) terminal() bool {
	return f.Drop || f.HTTPStatus != 0 || f.Body != nil || f.Redirect != "" || f.Code != 0
}

type faultState struct {
	Fault
	skipped, fired int
}

// action is what the faults that fired on one request ask for.
type action struct {
	latency      time.Duration
	terminal     *Fault
	dropAfter    bool
	itemFailures map[string]int
}

// InjectFault adds a fault; faults are evaluated in the order they were injected.
func (n *NAS) InjectFault(f Fault) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = append(n.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault.
func (n *NAS) ClearFaults() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = nil
}

// fireFaults finds the faults that fire on this request and retires exhausted ones.
// Latencies add up; the first fault that replaces the answer wins.
func (n *NAS) fireFaults(api, method string) action {
	var act action
	kept := n.faults[:0]
	for _, f := range n.faults {
		if (f.API != "" && f.API != api) || (f.Method != "" && f.Method != method) {
			kept = append(kept, f)
			continue
		}
		if f.skipped < f.Skip {
			f.skipped++
			kept = append(kept, f)
			continue
		}
		f.fired++
		act.latency += f.Latency
		if f.terminal() && act.terminal == nil {
			fc := f.Fault
			act.terminal = &fc
		}
		act.dropAfter = act.dropAfter || f.DropAfter
		for k, v := range f.ItemFailures {
			if act.itemFailures == nil {
				act.itemFailures = map[string]int{}
			}
			act.itemFailures[k] = v
		}
		if f.Times == 0 || f.fired < f.Times {
			kept = append(kept, f)
		}
	}
	for i := len(kept); i < len(n.faults); i++ {
		n.faults[i] = nil
	}
	n.faults = kept
	return act
}

// faultReply builds the answer a terminal fault asks for.
func faultReply(f *Fault) reply {
	switch {
	case f.Drop:
		return reply{dropped: true, code: -1}
	case f.HTTPStatus != 0:
		text := http.StatusText(f.HTTPStatus)
		body := fmt.Sprintf("<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n",
			f.HTTPStatus, html.EscapeString(text), f.HTTPStatus, html.EscapeString(text))
		return reply{status: f.HTTPStatus, header: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			body: []byte(body), code: -1}
	case f.Body != nil:
		ct := f.ContentType
		if ct == "" {
			ct = jsonContentType
		}
		return reply{status: http.StatusOK, header: http.Header{"Content-Type": {ct}}, body: f.Body, code: -1}
	case f.Redirect != "":
		return reply{status: http.StatusFound, header: http.Header{"Location": {f.Redirect},
			"Content-Type": {"text/html; charset=utf-8"}},
			body: []byte(`<a href="` + html.EscapeString(f.Redirect) + `">Found</a>.` + "\n"), code: -1}
	default:
		return envelopeReply(nil, &apiError{code: f.Code, errors: f.Errors}, nil)
	}
}

// drop closes the client connection without an answer. Where the connection cannot be
// hijacked (HTTP/2), aborting the handler resets the stream instead.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
